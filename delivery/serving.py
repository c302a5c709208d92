"""Serving a file's bytes, one small backend per ``DELIVERY_BACKEND``.

All backends send the same protective headers; only how the bytes travel
differs: through Django (``stream``), through the front web server
(``x-accel``, ``x-sendfile``) or straight from the bucket (``s3``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import BinaryIO

from django.conf import settings
from django.core.files import File
from django.core.files.storage import Storage
from django.http import (
    FileResponse,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.utils.http import content_disposition_header, quote_etag

from catalog.media import safe_filename
from catalog.models import Asset

CHUNK = 256 * 1024
# ASCII digits, at most 19 of them: a longer number is no range (never an int() of 5,000 digits).
_RANGE = re.compile(r"^bytes=([0-9]{0,19})-([0-9]{0,19})$")


@dataclass(frozen=True, slots=True)
class Served:
    """What a backend needs to send stored bytes: where they are and how to name them."""

    storage: Storage
    name: str  # in ``storage``
    size: int
    etag: str
    filename: str  # what the buyer's browser saves it as
    mime_type: str
    # Shown in the browser (the library's players, a PDF opened) rather than saved.
    inline: bool = False

    @classmethod
    def of_asset(cls, asset: Asset) -> Served:
        return cls(
            storage=asset.file.storage,
            name=asset.file.name or "",
            size=asset.size_bytes,
            etag=quote_etag(asset.sha256[:32] or f"asset-{asset.pk}-{asset.size_bytes}"),
            filename=asset.original_filename,
            mime_type=asset.mime_type,
        )


def _disposition(served: Served) -> str:
    return _disposition_of(served.filename, inline=served.inline)


# Pure, and asked again for every request of a file (a character-by-character clean-up).
@functools.lru_cache(maxsize=1024)
def _disposition_of(filename: str, *, inline: bool) -> str:
    fallback = "inline" if inline else "attachment"
    return content_disposition_header(not inline, safe_filename(filename)) or fallback


def _protect(response: HttpResponseBase, served: Served) -> HttpResponseBase:
    response["Content-Disposition"] = _disposition(served)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Accept-Ranges"] = "bytes"
    if response.status_code != 302:
        response["Content-Type"] = served.mime_type or "application/octet-stream"
    return response


def parse_range(header: str, size: int) -> tuple[int, int] | bool | None:
    """One byte range as (first, last) inclusive; None when absent or not
    understood (serve the whole file, as RFC 9110 allows); False when
    unsatisfiable."""
    match = _RANGE.match(header.strip()) if header else None
    if not match:
        return None
    first_s, last_s = match.groups()
    if not first_s and not last_s:
        return None
    if not first_s:
        suffix = int(last_s)
        if suffix == 0 or size == 0:
            return False
        return max(0, size - suffix), size - 1
    first = int(first_s)
    if last_s and int(last_s) < first:
        return None
    if first >= size:
        return False
    last = int(last_s) if last_s else size - 1
    return first, min(last, size - 1)


def _read_span(handle: File | BinaryIO, first: int, length: int) -> Iterator[bytes]:
    try:
        handle.seek(first)
        remaining = length
        while remaining > 0:
            chunk = handle.read(min(CHUNK, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk
    finally:
        handle.close()


def _stream(request: HttpRequest, served: Served) -> HttpResponseBase:
    size, name, storage = served.size, served.name, served.storage
    response: HttpResponseBase
    etag = served.etag
    wanted = parse_range(request.META.get("HTTP_RANGE", ""), size)
    if_range = request.META.get("HTTP_IF_RANGE")
    if if_range is not None and if_range.strip() != etag:
        wanted = None  # the client holds another version: send it all
    if wanted is False:
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        return _protect(response, served)
    if request.method == "HEAD":
        response = HttpResponse()
        if isinstance(wanted, tuple):
            response.status_code = 206
            response["Content-Range"] = f"bytes {wanted[0]}-{wanted[1]}/{size}"
            response["Content-Length"] = str(wanted[1] - wanted[0] + 1)
        else:
            response["Content-Length"] = str(size)
    elif isinstance(wanted, tuple):
        first, last = wanted
        handle = storage.open(name, "rb")
        response = StreamingHttpResponse(_read_span(handle, first, last - first + 1), status=206)
        response["Content-Range"] = f"bytes {first}-{last}/{size}"
        response["Content-Length"] = str(last - first + 1)
    else:
        # A real file object lets the WSGI server use sendfile().
        handle = storage.open(name, "rb")
        response = FileResponse(handle)
        response["Content-Length"] = str(size)
    response["ETag"] = etag
    return _protect(response, served)


def _x_accel(request: HttpRequest, served: Served) -> HttpResponseBase:
    response = HttpResponse()
    # nginx answers Range, If-Range and HEAD itself from the internal location.
    response["X-Accel-Redirect"] = settings.DELIVERY_X_ACCEL_PREFIX + served.name
    response["ETag"] = served.etag
    return _protect(response, served)


def _x_sendfile(request: HttpRequest, served: Served) -> HttpResponseBase:
    response = HttpResponse()
    response["X-Sendfile"] = served.storage.path(served.name)
    response["ETag"] = served.etag
    return _protect(response, served)


def _s3(request: HttpRequest, served: Served) -> HttpResponseBase:
    url = served.storage.presigned_url(  # type: ignore[attr-defined]
        served.name,
        parameters={
            "ResponseContentDisposition": _disposition(served),
            "ResponseContentType": served.mime_type or "application/octet-stream",
        },
        expire=settings.FILE_LINK_REDIRECT_SECONDS,
    )
    return _protect(HttpResponseRedirect(url), served)


BACKENDS = {"stream": _stream, "x-accel": _x_accel, "x-sendfile": _x_sendfile, "s3": _s3}


def serve(request: HttpRequest, served: Served) -> HttpResponseBase:
    return BACKENDS[settings.DELIVERY_BACKEND](request, served)


def serve_asset(request: HttpRequest, asset: Asset) -> HttpResponseBase:
    return serve(request, Served.of_asset(asset))


def serve_inline(request: HttpRequest, asset: Asset) -> HttpResponseBase:
    """For the library's players: shown in the page, from this site's origin
    (the policy's ``media-src``), so a bucket's bytes come through the app."""
    served = replace(Served.of_asset(asset), inline=True)
    backend = "stream" if settings.DELIVERY_BACKEND == "s3" else settings.DELIVERY_BACKEND
    return BACKENDS[backend](request, served)
