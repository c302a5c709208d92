"""Error pages in the site's look, each with a way home.

The 500 page is the page of last resort, rendered from settings alone:
whatever failed — the database, a context processor, the session — may fail
again here, so it needs none of them (no request context, no query, no
static-files manifest: its styles are inline). The 400 page answers requests
too broken to trust (a forged Host header, say), so it gets the same
settings-only context. 403 and 404 use Django's own handlers, with the request.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseServerError,
)
from django.shortcuts import render
from django.template import loader

from catalog.headers import content_security_policy, style_hash
from shop.context_processors import site_links


def _settings_context() -> dict[str, object]:
    return {"store_name": settings.STORE_NAME, "site_links": site_links()}


def bad_request(
    request: HttpRequest, exception: Exception, template_name: str = "400.html"
) -> HttpResponse:
    return HttpResponseBadRequest(loader.get_template(template_name).render(_settings_context()))


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """An expired or missing CSRF token: the page says what to do, in the site's look."""
    return render(request, "403_csrf.html", status=403)


_STYLE = re.compile(r"<style>(.*?)</style>", re.S)


def server_error(request: HttpRequest, template_name: str = "500.html") -> HttpResponse:
    context = _settings_context()
    try:
        body = loader.get_template(template_name).render(context)
    except Exception:  # the error page itself must never raise
        body = "<h1>Server Error (500)</h1><p><a href='/'>Home</a></p>"
    response = HttpResponseServerError(body)
    # Its one inline stylesheet is allowed by its digest, and nothing else inline is.
    hashes = tuple(style_hash(css) for css in _STYLE.findall(body))
    response.headers["Content-Security-Policy"] = content_security_policy(style_hashes=hashes)
    return response
