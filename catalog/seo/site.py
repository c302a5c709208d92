"""Absolute addresses of the shop's pages, for links that leave the site."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def site_root(request: HttpRequest | None = None) -> str:
    """``scheme://host`` of the shop, without a trailing slash.

    ``SITE_URL`` when the operator chose it (search engines must see one
    address whatever host a request used); otherwise the origin the request
    came to, and the default ``SITE_URL`` without a request (a background task).
    """
    if request is None or settings.SITE_URL_EXPLICIT:
        return str(settings.SITE_URL).rstrip("/")
    return f"{request.scheme}://{request.get_host()}"


def absolute(path_or_url: str, request: HttpRequest | None = None) -> str:
    """An absolute URL for a path of this site; an absolute URL (a CDN's) is kept."""
    if not path_or_url or path_or_url.startswith(("http://", "https://")):
        return path_or_url
    if path_or_url.startswith("//"):
        scheme = site_root(request).split(":", 1)[0]
        return f"{scheme}:{path_or_url}"
    return site_root(request) + ("" if path_or_url.startswith("/") else "/") + path_or_url


def canonical_url(request: HttpRequest) -> str:
    """The page's one address: no tracking or other query, but the page number of a list."""
    url = absolute(request.path, request)
    page = request.GET.get("page", "")
    if page.isascii() and page.isdigit() and len(page) <= 6 and int(page) > 1:
        url += f"?page={int(page)}"
    return url
