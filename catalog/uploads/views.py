"""The upload protocol's JSON endpoints (documented in ``catalog/uploads/__init__.py``).

Thin: every upload id passes the ownership gate in ``catalog/access.py``, every
change goes through ``catalog/uploads/services.py``.
"""

from __future__ import annotations

import json
from functools import wraps
from typing import Any, BinaryIO, cast

from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods, require_POST

from catalog.access import (
    NotASeller,
    View,
    access_product_for_seller,
    access_upload_for_seller,
    request_seller,
)
from catalog.models import Asset, UploadSession
from catalog.money import CountError, parse_count
from catalog.request_size import body_limit
from catalog.services import CatalogError
from catalog.uploads import services
from catalog.uploads.base import CHUNK_BYTES, CHUNK_MAX_BYTES, UploadError

# Sizes and offsets as JavaScript counts them (Number.MAX_SAFE_INTEGER); the
# services refuse what is above UPLOAD_MAX_BYTES with their own message.
MAX_BYTES_TYPED = 2**53 - 1


def api(view: View) -> View:
    """JSON endpoints: 401 instead of a login redirect, refusals as {"error": ...}."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return JsonResponse({"error": "Log in again to continue."}, status=401)
        try:
            request_seller(request)
            return view(request, *args, **kwargs)
        except NotASeller:
            return JsonResponse({"error": "Open a shop first."}, status=403)
        except CatalogError as exc:
            return JsonResponse({"error": exc.message}, status=exc.status)
        except UploadError as exc:
            return JsonResponse({"error": exc.message, "offset": exc.offset}, status=exc.status)

    return wrapper


def _json_body(request: HttpRequest) -> dict[str, Any]:
    if len(request.body) > 64 * 1024:
        raise CatalogError(gettext("This request is too large."))
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise CatalogError(gettext("Send JSON.")) from None
    if not isinstance(data, dict):
        raise CatalogError(gettext("Send a JSON object."))
    return data


def _describe_upload(upload: UploadSession) -> dict[str, Any]:
    base = reverse("catalog:sell_upload", args=[upload.pk])
    answer: dict[str, Any] = {
        "id": str(upload.pk),
        "backend": upload.backend,
        "filename": upload.filename,
        "size": upload.size_bytes,
        "status": upload.status,
        "chunk_size": CHUNK_BYTES,
        "part_size": upload.part_size,
        "urls": {
            "self": base,
            "parts": reverse("catalog:sell_upload_parts", args=[upload.pk]),
            "finish": reverse("catalog:sell_upload_finish", args=[upload.pk]),
        },
    }
    answer.update(services.upload_progress(upload=upload))
    if upload.error:
        answer["error"] = upload.error
    return answer


@api
@require_POST
def upload_create(request: HttpRequest) -> HttpResponse:
    data = _json_body(request)
    product = access_product_for_seller(request, data.get("product"))
    try:
        # The browser's File.size: a JSON integer (or its digits); never a float, never inf.
        size = parse_count(data.get("size"), maximum=MAX_BYTES_TYPED, unit="bytes")
    except CountError as exc:
        raise CatalogError(
            gettext("Give the file's size in bytes: %(exc)s") % {"exc": exc}
        ) from None
    upload = services.upload_create(
        seller=product.seller,
        product=product,
        role=str(data.get("role") or Asset.Role.DELIVERABLE),
        filename=str(data.get("filename") or ""),
        size=size,
    )
    return JsonResponse(_describe_upload(upload), status=201)


@body_limit(CHUNK_MAX_BYTES)
@api
@require_http_methods(["GET", "HEAD", "PATCH", "DELETE"])
def upload_detail(request: HttpRequest, upload_id: str) -> HttpResponse:
    upload = access_upload_for_seller(request, upload_id)
    if request.method == "DELETE":
        services.upload_abort(upload=upload)
        return HttpResponse(status=204)
    if request.method == "PATCH":
        try:
            offset = parse_count(request.headers.get("Upload-Offset", ""), maximum=MAX_BYTES_TYPED)
            length = parse_count(request.META.get("CONTENT_LENGTH") or "0", maximum=MAX_BYTES_TYPED)
        except CountError:
            raise CatalogError(
                gettext("Send Upload-Offset and Content-Length as whole numbers.")
            ) from None
        if length > CHUNK_MAX_BYTES:
            raise CatalogError(
                gettext("Chunks up to %(value)s MiB, please.")
                % {"value": CHUNK_MAX_BYTES // 1024**2},
                status=413,
            )
        # request is a file-like stream: the chunk is copied in 1 MiB reads, never held whole.
        new_offset = services.upload_receive(
            upload=upload, offset=offset, stream=cast(BinaryIO, request), length=length
        )
        response = JsonResponse({"offset": new_offset, "size": upload.size_bytes})
        response["Upload-Offset"] = str(new_offset)
        return response
    return JsonResponse(_describe_upload(upload))


@api
@require_POST
def upload_parts(request: HttpRequest, upload_id: str) -> HttpResponse:
    upload = access_upload_for_seller(request, upload_id)
    numbers = _json_body(request).get("numbers")
    if not isinstance(numbers, list) or not all(
        isinstance(n, int) and not isinstance(n, bool) for n in numbers
    ):
        raise CatalogError(gettext("Send the part numbers as a list of whole numbers."))
    urls = services.upload_presign(upload=upload, numbers=numbers)
    return JsonResponse(
        {"part_size": upload.part_size, "urls": {str(n): u for n, u in urls.items()}}
    )


@api
@require_POST
def upload_finish(request: HttpRequest, upload_id: str) -> HttpResponse:
    upload = access_upload_for_seller(request, upload_id)
    asset = services.upload_finish(upload=upload)
    return JsonResponse(
        {
            "asset": {
                "id": asset.pk,
                "filename": asset.original_filename,
                "role": asset.role,
                "size": asset.size_bytes,
                "sha256": asset.sha256,
                "mime": asset.mime_type,
                "kind": asset.kind,
            },
            "files_url": reverse("catalog:sell_files", args=[asset.product_id]),
        }
    )
