"""Which language a request is served in, and the links to its other languages.

Every page people open sits in ``i18n_patterns(..., prefix_default_language=False)``
(``shop/urls.py``): English at the URLs the shop always had, French under
``/fr/``. A prefixed URL decides by itself, so search engines index each
language at its own address (the ``hreflang`` alternates come from
``languages`` below). An unprefixed URL is English for a visitor who chose
nothing, and for a visitor who chose French (the switcher's cookie) or whose
browser asks for it (``Accept-Language``) a ``GET`` is redirected to the same
page under ``/fr/``. URLs outside the patterns (the admin, the webhook, the
media) keep one address and take the cookie, else ``Accept-Language``.

Anything unknown in the cookie or the header (``xx``, ``../../etc``, a code
of 4,000 characters) is ignored by Django's own ``get_language_from_request``
and ``get_supported_language_variant``: the visitor gets the default language.
"""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.middleware.locale import LocaleMiddleware as DjangoLocaleMiddleware
from django.urls import Resolver404, get_urlconf, translate_url
from django.urls.resolvers import LocalePrefixPattern, get_resolver
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.encoding import iri_to_uri
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language

_SAFE_METHODS = ("GET", "HEAD")


def in_language_patterns(path: str, urlconf: str | None = None) -> bool:
    """Whether ``path`` (unprefixed) is one of the pages that exist in every language."""
    return _in_language_patterns(path, urlconf or settings.ROOT_URLCONF)


# Both answers depend on the path and the URL patterns only, which change with a deploy,
# not a request: each process keeps the last few thousand (decision 90).
@lru_cache(maxsize=4096)
def _in_language_patterns(path: str, urlconf: str) -> bool:
    with translation.override(settings.LANGUAGE_CODE):
        try:
            match = get_resolver(urlconf).resolve(path)
        except Resolver404:
            return False
    chain = match.tried[-1] if match.tried else []
    return any(isinstance(getattr(p, "pattern", None), LocalePrefixPattern) for p in chain)


class LocaleMiddleware(DjangoLocaleMiddleware):
    """Django's, except that an unprefixed page follows the visitor's choice.

    Django's middleware serves every unprefixed URL in the default language
    once ``prefix_default_language=False`` is used, cookie or not.
    """

    def process_request(self, request: HttpRequest) -> HttpResponse | None:  # type: ignore[override]
        urlconf = getattr(request, "urlconf", settings.ROOT_URLCONF)
        from_path = translation.get_language_from_path(request.path_info)
        if from_path:
            translation.activate(from_path)
            request.LANGUAGE_CODE = translation.get_language()
            return None
        preferred = translation.get_language_from_request(request, check_path=False)
        localised = in_language_patterns(request.path_info, urlconf)
        if localised and preferred != settings.LANGUAGE_CODE and request.method in _SAFE_METHODS:
            script = request.path[: len(request.path) - len(request.path_info)]
            query = request.META.get("QUERY_STRING", "")
            location = f"{script}/{preferred}{request.path_info}" + (f"?{query}" if query else "")
            response = HttpResponseRedirect(iri_to_uri(location))
            patch_vary_headers(response, ("Accept-Language", "Cookie"))
            return response
        translation.activate(settings.LANGUAGE_CODE if localised else preferred)
        request.LANGUAGE_CODE = translation.get_language()
        return None

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:  # type: ignore[override]
        response = super().process_response(request, response)  # type: ignore[arg-type]
        # The next request served by this thread (or a test's next line) starts afresh.
        translation.deactivate()
        return response


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Django's ``set_language``, reading ``next`` in the language of its own prefix, so
    that /fr/x/ switched to English gives /x/ (Django resolves it in the active one)."""
    path = urlsplit(str(request.POST.get("next", ""))).path
    with translation.override(translation.get_language_from_path(path) or settings.LANGUAGE_CODE):
        return django_set_language(request)


def languages(request: HttpRequest) -> dict[str, object]:
    """The switcher's choices and, on pages that exist in every language, their
    addresses for ``<link rel="alternate" hreflang>`` (x-default: English)."""
    current = translation.get_language() or settings.LANGUAGE_CODE
    urlconf = getattr(request, "urlconf", None) or get_urlconf() or settings.ROOT_URLCONF
    alternates = _alternates(
        request.path_info, urlconf, settings.SITE_URL, tuple(settings.LANGUAGES)
    )
    return {
        "language_choices": [
            (code, translation.get_language_info(code)["name_local"])
            for code, _name in settings.LANGUAGES
        ],
        "language_current": current,
        "language_alternates": list(alternates),
    }


@lru_cache(maxsize=4096)
def _alternates(
    path: str, urlconf: str, site_url: str, languages: tuple[tuple[str, str], ...]
) -> tuple[tuple[str, str], ...]:
    base = translate_url(path, settings.LANGUAGE_CODE)
    if not in_language_patterns(base, urlconf):
        return ()
    found = [(code, site_url + translate_url(path, code)) for code, _name in languages]
    return (*found, ("x-default", site_url + base))
