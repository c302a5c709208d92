"""The benchmark's baseline inside Django: a bare ``FileResponse`` view.

Used by ``bench/delivery.py`` and ``bench/pages.py`` (``bench/bare_settings.py``): the
same project, middleware and gunicorn as the download view, minus the link
check and the download log, so the ratio of the two is what those cost.
Never part of the site: it serves any private file by its storage name.
"""

from __future__ import annotations

from django.core.files.storage import storages
from django.http import FileResponse, HttpRequest, HttpResponse
from django.urls import path

from shop.urls import urlpatterns as site_urlpatterns


def bare_file(request: HttpRequest, name: str) -> FileResponse:
    return FileResponse(storages["default"].open(name, "rb"))


# First, so resolving it walks no more patterns than the download view does.
urlpatterns = [path("bench/bare/<path:name>", bare_file), *site_urlpatterns]


def bare_page(request: HttpRequest) -> HttpResponse:
    """The baseline of ``bench/pages.py``: a page with no query and no template."""
    return HttpResponse("<!doctype html><title>bare</title><p>bare</p>")


urlpatterns.insert(0, path("bench/bare-page", bare_page))
