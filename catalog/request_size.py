"""Request bodies are bounded before anything reads them.

Every route accepts ``REQUEST_MAX_BYTES`` (1 MiB); a seller view that needs
more says so with `body_limit`, and only a signed-in seller gets that larger
limit there (anyone else's body is refused before a CSRF check or a login
redirect reads it). The routes with their own limit:

=====================================  ===========================================
the product form, the profile          ``REQUEST_MAX_BYTES_IMAGES`` (a cover, an avatar)
``PATCH /sell/uploads/<id>/``          ``CHUNK_MAX_BYTES``: one chunk of the protocol
``POST /sell/products/<id>/files/``    ``UPLOAD_MAX_BYTES`` or the quota left, + a margin
``POST /sell/imports/``                the ZIP limit or the whole quota, + a margin
``PATCH /api/v1/.../uploads/<id>``     ``CHUNK_MAX_BYTES``, for a live token with
                                       ``catalog:write`` (``request_body_token_limit``)
=====================================  ===========================================

`RequestSizeMiddleware` comes first in ``MIDDLEWARE``. It judges the request
in ``process_view``: Django calls every middleware's ``process_view`` in order
before the view, so this one runs before ``CsrfViewMiddleware``'s (which reads
``request.POST`` and so parses a multipart body into temporary files), and by
then the session and the user are known. Too large is a 413 with a short page
(or JSON for the upload API), and nothing has been read.

The ``Content-Length`` header is all that needs checking under WSGI: Django
reads a WSGI body through a ``LimitedStream`` cut at that header's value, so a
body longer than it claims is read only as far as the claim, and one with no
(or an unreadable) ``Content-Length`` — a chunked upload — reads as empty
(``tests/catalog/test_request_size.py`` holds Django to it). Under ASGI,
Django spools the whole body before any middleware runs: put a proxy with a
body limit in front (the README's nginx configuration has one).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext

from catalog.access import NotASeller, request_seller
from catalog.models import Seller
from catalog.quotas import human_size

MULTIPART_MARGIN = 1024 * 1024  # boundaries, headers and the other fields of a file form


@dataclass(frozen=True, slots=True)
class Allowance:
    """How many bytes a seller may send to a route, and why, for the refusal."""

    bytes: int
    why: str = ""


Limit = int | Callable[[HttpRequest, Seller], int | Allowance]
F = TypeVar("F", bound=Callable[..., Any])


def body_limit(limit: Limit) -> Callable[[F], F]:
    """Let signed-in sellers send up to `limit` bytes to this seller view; everyone
    else keeps ``REQUEST_MAX_BYTES``. A callable is asked on each request, with the
    seller (an upload form's limit is what their quota has left)."""

    def decorator(view: F) -> F:
        view.request_body_limit = limit  # type: ignore[attr-defined]
        return view

    return decorator


def content_length(request: HttpRequest) -> int:
    """The declared body size; 0 when absent or unreadable, as Django reads it."""
    try:
        return max(0, int(request.META.get("CONTENT_LENGTH") or 0))
    except ValueError:
        return 0


def _is_admin(view: Callable[..., Any]) -> bool:
    """A view of Django's admin site (its views are bound methods of admin classes)."""
    module = getattr(view, "__module__", "") or ""
    return module.startswith("django.contrib.admin")


def route_allowance(request: HttpRequest, view: Callable[..., Any]) -> Allowance:
    """The largest body this request may carry to `view`."""
    declared: Limit | None = getattr(view, "request_body_limit", None)
    default = Allowance(settings.REQUEST_MAX_BYTES)
    # A view authenticated by a token (the API) says itself whose request it is.
    by_token: Callable[[HttpRequest], Allowance | None] | None = getattr(
        view, "request_body_token_limit", None
    )
    if by_token is not None:
        return by_token(request) or default
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return default
    if user.is_active and user.is_staff and _is_admin(view):
        # Staff replace covers and files in the admin: a paid file is as large as an upload.
        return Allowance(settings.UPLOAD_MAX_BYTES)
    if declared is None:
        return default
    try:
        seller = request_seller(request)
    except NotASeller:
        return default
    allowed = declared(request, seller) if callable(declared) else declared
    return allowed if isinstance(allowed, Allowance) else Allowance(allowed)


class RequestSizeMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: Any,
        view_kwargs: Any,
    ) -> HttpResponse | None:
        length = content_length(request)
        if length <= settings.REQUEST_MAX_BYTES:
            return None  # the common case costs one comparison
        allowed = route_allowance(request, view_func)
        if length <= allowed.bytes:
            return None
        return too_large(request, length=length, allowed=allowed, view=view_func)


def too_large(
    request: HttpRequest,
    *,
    length: int,
    allowed: Allowance,
    view: Callable[..., Any] | None = None,
) -> HttpResponse:
    """The refusal; a view with a ``too_large_response(request, message)`` (an API with
    its own error shape) answers in its own words."""
    values = {"size": human_size(length), "limit": human_size(allowed.bytes), "why": allowed.why}
    message = (
        gettext(
            "This request is too large: %(size)s, and this page accepts up to %(limit)s (%(why)s)."
        )
        if allowed.why
        else gettext("This request is too large: %(size)s, and this page accepts up to %(limit)s.")
    ) % values
    responder = getattr(view, "too_large_response", None)
    if responder is not None:
        response: HttpResponse = responder(request, message)
        return response
    wants_json = "application/json" in request.headers.get("Accept", "") or (
        request.content_type in ("application/json", "application/offset+octet-stream")
    )
    if wants_json:
        return JsonResponse({"error": message}, status=413)
    # No base template: the user, the messages and the menu are not known yet
    # when the request is refused.
    return HttpResponse(
        render_to_string("catalog/request_too_large.html", {"message": message}),
        status=413,
        content_type="text/html",
    )
