"""``reverse()`` kept per process: the same name and arguments give the same path.

A product page reverses its own address four times and its seller's three
(the page, its JSON-LD, its OpenGraph tags, its breadcrumbs), each about
10 µs of walking the URL patterns. The answer depends on the name, the
arguments, the active language (the ``/fr/`` prefix), the URL configuration
and the script prefix only, so those are the key (decision 97); URL patterns
change with a deploy, which starts new processes.
"""

from __future__ import annotations

from functools import lru_cache

from django.conf import settings
from django.core.signals import setting_changed
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.translation import get_language


def path_to(viewname: str, **kwargs: str | int) -> str:
    """``reverse(viewname, kwargs=kwargs)``, kept per process."""
    return _reversed(
        viewname,
        tuple(sorted(kwargs.items())),
        get_language(),
        get_urlconf() or settings.ROOT_URLCONF,
        get_script_prefix(),
    )


@lru_cache(maxsize=16384)
def _reversed(
    viewname: str,
    kwargs: tuple[tuple[str, str | int], ...],
    language: str | None,
    urlconf: object,
    prefix: str,
) -> str:
    return reverse(viewname, kwargs=dict(kwargs))


def _forget(*, setting: str, **kwargs: object) -> None:
    # Tests that swap the URL patterns keep their ROOT_URLCONF name, not their contents.
    if setting == "ROOT_URLCONF":
        _reversed.cache_clear()


setting_changed.connect(_forget)
