"""Thin views: robots.txt, the sitemap index and sections, feeds, the embed and oEmbed."""

from __future__ import annotations

from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.sitemaps import views as sitemap_views
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    JsonResponse,
)
from django.shortcuts import render
from django.template.response import TemplateResponse
from django.urls import Resolver404, resolve, reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control, cache_page
from django.views.decorators.http import require_GET

from catalog import selectors
from catalog.headers import frame_allowed
from catalog.models import Product
from catalog.money import CountError, parse_count
from catalog.seo import feeds
from catalog.seo.site import site_root
from catalog.seo.sitemaps import sitemaps_for
from catalog.seo.structured import EMBED_HEIGHT, EMBED_WIDTH, cover_info, embed_path

# Paths no crawler needs: the seller's back office, accounts, carts, payments,
# libraries and the admin. Private pages also say noindex themselves.
ROBOTS_DISALLOW = (
    "/admin/",
    "/sell/",
    "/accounts/",
    "/cart/",
    "/checkout/",
    "/library/",
)


@require_GET
@cache_control(max_age=3600, public=True)
def robots_txt(request: HttpRequest) -> HttpResponse:
    root = site_root(request)
    lines = ["User-agent: *", *(f"Disallow: {path}" for path in ROBOTS_DISALLOW)]
    lines += ["", f"Sitemap: {root}{reverse('seo:sitemap')}", ""]
    return HttpResponse("\n".join(lines), content_type="text/plain; charset=utf-8")


def _kept(seconds_setting: str) -> Any:
    """Django's ``cache_page`` for documents machines read (decision 90): built once per
    address (and language) for the setting's seconds, from the shared cache."""

    def decorate(view: Any) -> Any:
        @wraps(view)
        def kept(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            seconds = int(getattr(settings, seconds_setting))
            if seconds <= 0:
                return view(request, *args, **kwargs)
            return cache_page(seconds, key_prefix=seconds_setting.lower())(view)(
                request, *args, **kwargs
            )

        return kept

    return decorate


@require_GET
@_kept("SITEMAP_CACHE_SECONDS")
def sitemap_index(request: HttpRequest) -> HttpResponseBase:
    root = site_root(request)
    response = sitemap_views.index(
        request, sitemaps_for(root), sitemap_url_name="seo:sitemap_section"
    )
    # The framework names sections by the request's host; the shop's own address wins.
    asked = f"{request.scheme}://{request.get_host()}"
    if isinstance(response, TemplateResponse) and asked != root:
        for item in response.context_data["sitemaps"]:  # type: ignore[index]
            if item.location.startswith(asked):
                item.location = root + item.location[len(asked) :]
    return response


@require_GET
@_kept("SITEMAP_CACHE_SECONDS")
def sitemap_section(request: HttpRequest, section: str) -> HttpResponseBase:
    # The framework reads ?p= with int(): a typed page goes through the one parser first.
    typed = request.GET.get("p")
    if typed is not None:
        try:
            parse_count(typed, minimum=1, maximum=100_000)
        except CountError as exc:
            raise Http404(str(exc)) from exc
    return sitemap_views.sitemap(request, sitemaps_for(site_root(request)), section=section)


@_kept("FEED_CACHE_SECONDS")
def feed_shop(request: HttpRequest) -> HttpResponse:
    return feeds.ShopFeed()(request)


@_kept("FEED_CACHE_SECONDS")
def feed_seller(request: HttpRequest, seller: str) -> HttpResponse:
    return feeds.SellerFeed()(request, seller=seller)


@_kept("FEED_CACHE_SECONDS")
def feed_tag(request: HttpRequest, tag: str) -> HttpResponse:
    return feeds.TagFeed()(request, tag=tag)


def _embeddable(seller: str, product: str) -> Product:
    found = selectors.product_public(seller_slug=seller, product_slug=product)
    if found is None:
        raise Http404(_("No such product."))
    return found


@require_GET
@frame_allowed
def embed(request: HttpRequest, seller: str, product: str) -> HttpResponse:
    """The player and buy card other sites may frame; buying opens the shop in a new tab."""
    found = _embeddable(seller, product)
    previews = [a for a in found.ordered_assets if a.role == a.Role.PREVIEW]  # type: ignore[attr-defined]
    root = site_root(request)
    context = {
        "product": found,
        "player": next((p for p in previews if p.player), None),
        "product_url": root + found.get_absolute_url(),
        "cover": cover_info(found, root),
    }
    return render(request, "seo/embed.html", context)


def _oembed_error(message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


@require_GET
def oembed(request: HttpRequest) -> HttpResponse:
    """oEmbed 1.0 (https://oembed.com): a ``rich`` iframe of the embed page, JSON only."""
    fmt = request.GET.get("format", "json")
    if fmt != "json":
        return _oembed_error(_("Only the JSON format is served."), 501)
    url = request.GET.get("url", "")[:2000]
    parts = urlsplit(url)
    root = site_root(request)
    if not url or f"{parts.scheme}://{parts.netloc}" not in (
        root,
        f"{request.scheme}://{request.get_host()}",
    ):
        return _oembed_error(_("Give the address of a product of this shop in ?url=."), 404)
    try:
        match = resolve(parts.path)
    except Resolver404:
        match = None
    if match is None or match.view_name not in ("catalog:product", "seo:embed"):
        return _oembed_error(_("That address is not a product of this shop."), 404)
    try:
        found = _embeddable(match.kwargs["seller"], match.kwargs["product"])
    except Http404:
        return _oembed_error(_("That address is not a product of this shop."), 404)
    width = _bounded(request.GET.get("maxwidth"), EMBED_WIDTH)
    height = _bounded(request.GET.get("maxheight"), EMBED_HEIGHT)
    src = root + embed_path(found)
    title = found.title
    html = render(
        request,
        "seo/oembed_iframe.html",
        {"src": src, "width": width, "height": height, "title": title},
    ).content.decode()
    data: dict[str, Any] = {
        "version": "1.0",
        "type": "rich",
        "provider_name": _store_name(),
        "provider_url": root + "/",
        "title": title,
        "author_name": found.seller.display_name,
        "author_url": root + found.seller.get_absolute_url(),
        "html": html.strip(),
        "width": width,
        "height": height,
        "cache_age": 3600,
    }
    cover = cover_info(found, root)
    if cover:
        data["thumbnail_url"] = cover.url
        if cover.width and cover.height:
            data["thumbnail_width"], data["thumbnail_height"] = cover.width, cover.height
    return JsonResponse(data)


def _bounded(typed: str | None, default: int) -> int:
    """A consumer's maxwidth/maxheight: the embed's size, smaller when asked, never below 100."""
    if not typed:
        return default
    try:
        asked = parse_count(typed, minimum=1, maximum=100_000)
    except CountError:
        return default
    return max(100, min(default, asked))


def _store_name() -> str:
    from django.conf import settings

    return str(settings.STORE_NAME)
