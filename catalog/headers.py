"""Security headers on every page, and the two decisions a view may take about them.

Every response gets a strict ``Content-Security-Policy`` and a
``Permissions-Policy`` (``SecurityHeadersMiddleware``). The policy allows
scripts, styles and fonts from the site itself only — no inline script, no
inline style, no ``eval`` — and adds exactly the other origins the shop uses:

- ``img-src``/``media-src``: the public storage (covers, previews), which may
  be an S3 bucket or a CDN rather than ``MEDIA_URL`` on this site;
- ``connect-src``: the private bucket, when sellers' browsers PUT upload parts
  to presigned S3 URLs (``STORAGE=s3``);
- ``form-action``: Stripe Checkout and Connect onboarding, which the checkout
  and payout forms redirect to (browsers check ``form-action`` on redirects).

Origins are read from the storages themselves (a presigned URL is computed
locally, without a request), so a custom domain or addressing style is
followed without a setting of its own.

Per view, one decorator each:

- ``frame_allowed``: the page may be framed by any site (embeds); every
  other page sends ``frame-ancestors 'none'`` and ``X-Frame-Options: DENY``.
- ``bearer_token_page``: the URL itself grants access (a library link, a
  receipt, a signed file link, a claim or verification link...). The page is
  never stored by a cache (``Cache-Control: private, no-store``) and never
  names its URL to another site (``Referrer-Policy: same-origin``, pinned on
  the page whatever the site-wide policy becomes). Not ``no-referrer``: under
  it browsers send ``Origin: null`` with the page's own POST forms (log in,
  set a password, log out, the test payment), which Django's CSRF check
  refuses.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from functools import cache, wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from django.conf import settings
from django.core.files.storage import storages
from django.core.signals import setting_changed
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.views.decorators.clickjacking import xframe_options_exempt

from catalog.uploads.base import is_s3

View = TypeVar("View", bound=Callable[..., Any])

STRIPE_FORM_ORIGINS = ("https://checkout.stripe.com", "https://connect.stripe.com")

# Features no page of the shop uses; the payment happens on Stripe's own page.
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "autoplay",
        "bluetooth",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "hid",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "publickey-credentials-get",
        "screen-wake-lock",
        "serial",
        "usb",
        "xr-spatial-tracking",
    )
)

BEARER_REFERRER_POLICY = "same-origin"
DATA_IMAGES_ALLOWED = "_echoppe_data_images_allowed"
FRAME_ALLOWED = "frame_allowed"
BEARER_MARK = "bearer_token_page"


def style_hash(css: str) -> str:
    """The CSP source that allows exactly this inline ``<style>`` block."""
    digest = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
    return f"'sha256-{digest}'"


def origin(url: str) -> str | None:
    """``scheme://host[:port]`` of an absolute URL; None for a path on this site."""
    parts = urlsplit(url)
    if parts.scheme in ("http", "https") and parts.netloc:
        return f"{parts.scheme}://{parts.netloc}"
    return None


def _public_media_origins() -> list[str]:
    # Both: MEDIA_URL may name a CDN while the storage builds its own URLs.
    found = [origin(settings.MEDIA_URL), origin(storages["public"].url("csp-probe"))]
    return sorted({o for o in found if o})


def _upload_origins() -> list[str]:
    private = storages["default"]
    if not is_s3(private):
        return []
    from catalog.uploads.s3 import s3_presign

    # Signed locally: the same host and addressing style as the parts the browser will PUT.
    url = s3_presign(private, "csp-probe", upload_id="csp-probe", numbers=[1], expires=60)[1]
    found = origin(url)
    return [found] if found else []


def _form_origins() -> list[str]:
    return list(STRIPE_FORM_ORIGINS) if settings.PAYMENT_PROVIDER == "stripe" else []


@cache
def content_security_policy(
    *, framed: bool = False, style_hashes: tuple[str, ...] = (), data_images: bool = False
) -> str:
    """The policy; ``style_hashes`` allows inline ``<style>`` blocks by their
    digest (``'sha256-...'``): only the standalone 500 page has one. ``data_images``
    allows ``data:`` images: only the API's documentation page (Swagger UI's icons)."""
    # STATIC_URL may name a CDN: the shop's own scripts, styles and icons come from there.
    static = [o for o in [origin(settings.STATIC_URL)] if o]
    media = " ".join(["'self'", *_public_media_origins()])
    directives = {
        "default-src": "'self'",
        "script-src": " ".join(["'self'", *static]),
        "style-src": " ".join(["'self'", *static, *style_hashes]),
        "img-src": " ".join([media, *static, *(["data:"] if data_images else [])]),
        "media-src": media,
        "font-src": " ".join(["'self'", *static]),
        "connect-src": " ".join(["'self'", *_upload_origins()]),
        "form-action": " ".join(["'self'", *_form_origins()]),
        "frame-ancestors": "*" if framed else "'none'",
        "frame-src": "'none'",
        "object-src": "'none'",
        "base-uri": "'none'",
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def _forget_policy(*, setting: str, **kwargs: Any) -> None:
    if setting in ("MEDIA_URL", "STATIC_URL", "STORAGES", "PAYMENT_PROVIDER"):
        content_security_policy.cache_clear()


setting_changed.connect(_forget_policy)


class SecurityHeadersMiddleware:
    """Content-Security-Policy and Permissions-Policy on every response."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        framed = bool(getattr(response, FRAME_ALLOWED, False))
        data_images = bool(getattr(response, DATA_IMAGES_ALLOWED, False))
        response.headers.setdefault(
            "Content-Security-Policy",
            content_security_policy(framed=framed, data_images=data_images),
        )
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        if getattr(request, BEARER_MARK, False):
            _private(response)
        return response


def frame_allowed(view: View) -> View:
    """Let other sites frame this view (an embed); every other page refuses to be framed."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        response = view(request, *args, **kwargs)
        setattr(response, FRAME_ALLOWED, True)
        return response

    return xframe_options_exempt(wrapper)  # type: ignore[return-value]


def data_images_allowed(view: View) -> View:
    """Let this page show ``data:`` images (the API's documentation: Swagger UI draws its
    icons so); scripts stay the shop's own."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        response = view(request, *args, **kwargs)
        setattr(response, DATA_IMAGES_ALLOWED, True)
        return response

    return wrapper  # type: ignore[return-value]


def bearer_token_page(view: View) -> View:
    """A view whose URL grants access: never cached, never sent on as a referrer.

    The request is marked and ``SecurityHeadersMiddleware`` sets the headers, so
    a 404 raised by the view (an unknown token) is covered too.
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        setattr(request, BEARER_MARK, True)
        return view(request, *args, **kwargs)

    setattr(wrapper, BEARER_MARK, True)
    return wrapper  # type: ignore[return-value]


def _private(response: HttpResponseBase) -> None:
    # Whatever the view said (never_cache's max-age too): a private page is never stored.
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Referrer-Policy"] = BEARER_REFERRER_POLICY
