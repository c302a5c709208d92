"""The sales dashboard: a seller's, one product's, and the whole shop's (staff only)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseBase,
    StreamingHttpResponse,
)
from django.shortcuts import render
from django.utils import timezone

from catalog.access import seller_required
from catalog.follows.services import followers_count
from delivery.selectors import shared_widely_for_dashboard
from shop.access import access_product_for_seller, access_seller, access_staff
from shop.funding.selectors import seller_campaign_summaries
from shop.stats import exports, pages
from shop.stats.facts import Scope
from shop.stats.localtime import zone
from shop.stats.rollups import book_timezone
from shop.stats.selectors import (
    Dashboard,
    Period,
    PeriodError,
    book_for,
    dashboard_read,
    period_from,
    recent_sales,
    seller_products,
    shop_names,
)

EXPORTS = ("orders", "figures", "products", "sources")


def _period(request: HttpRequest, tz_name: str, now: datetime) -> tuple[Period, str]:
    today = now.astimezone(zone(tz_name)).date()
    try:
        return period_from(request.GET, today), ""
    except PeriodError as exc:
        return period_from({}, today), str(exc)


def _read(scope: Scope, tz_name: str, period: Period, now: datetime) -> Dashboard:
    return dashboard_read(
        scope=scope, tz_name=tz_name, period=period, now=now, book=book_for(scope, tz_name)
    )


def _context(
    dashboard: Dashboard, period: Period, error: str, *, shop: bool = False
) -> dict[str, Any]:
    currency = settings.STORE_CURRENCY
    return {
        "dashboard": dashboard,
        "period": period,
        "period_error": error,
        "period_links": pages.period_links(period),
        "grouping_links": pages.grouping_links(period),
        "query": pages.period_query(period),
        "currency": currency,
        "cards": pages.cards(dashboard, currency, shop=shop),
        "charts": pages.charts(dashboard, currency),
        "sources": pages.source_groups(dashboard),
        "timezone": dashboard.timezone,
    }


@seller_required
def seller_dashboard(request: HttpRequest) -> HttpResponse:
    seller = access_seller(request)
    tz_name = book_timezone(seller)
    now = timezone.now()
    period, error = _period(request, tz_name, now)
    dashboard = _read(Scope(seller_id=seller.pk), tz_name, period, now)
    context = _context(dashboard, period, error)
    context["cards"].append(pages.followers_card(followers_count(seller=seller)))
    context.update(
        seller=seller,
        products=pages.product_table(dashboard, seller_products(seller.pk)),
        recent=recent_sales(Scope(seller_id=seller.pk), now=now),
        # Pledges are promises until a deadline: shown beside the sales, not counted in them.
        campaigns=seller_campaign_summaries(seller),
        # Whatever the period: what matters is a link being passed round now.
        shared=shared_widely_for_dashboard(seller=seller, now=now),
    )
    return render(request, "stats/seller.html", context, status=400 if error else 200)


@seller_required
def product_dashboard(request: HttpRequest, product_id: int) -> HttpResponse:
    product = access_product_for_seller(request, product_id)
    seller = product.seller
    tz_name = book_timezone(seller)
    now = timezone.now()
    period, error = _period(request, tz_name, now)
    scope = Scope(seller_id=seller.pk, product_id=product.pk)
    dashboard = _read(scope, tz_name, period, now)
    context = _context(dashboard, period, error)
    context.update(seller=seller, product=product, recent=recent_sales(scope, now=now))
    return render(request, "stats/product.html", context, status=400 if error else 200)


@login_required
def shop_dashboard(request: HttpRequest) -> HttpResponse:
    access_staff(request)
    tz_name = book_timezone(None)
    now = timezone.now()
    period, error = _period(request, tz_name, now)
    dashboard = _read(Scope(), tz_name, period, now)
    products, sellers = shop_names(dashboard)
    context = _context(dashboard, period, error, shop=True)
    context.update(
        products=pages.product_table(dashboard, products),
        sellers=pages.seller_table(dashboard, sellers),
        recent=recent_sales(Scope(), now=now),
    )
    return render(request, "stats/shop.html", context, status=400 if error else 200)


# --- CSV --------------------------------------------------------------------------------


def _csv(name: str, lines: Iterator[str]) -> StreamingHttpResponse:
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    response["Cache-Control"] = "private, no-store"
    return response


def _export(
    request: HttpRequest,
    *,
    kind: str,
    scope: Scope,
    tz_name: str,
    slug: str,
    products: Any = None,
) -> HttpResponseBase:
    if kind not in EXPORTS:
        raise Http404("No such export.")
    now = timezone.now()
    today = now.astimezone(zone(tz_name)).date()
    try:
        period = period_from(request.GET, today)
    except PeriodError as exc:
        return HttpResponseBadRequest(str(exc), content_type="text/plain; charset=utf-8")
    currency = settings.STORE_CURRENCY
    first: date | str = period.first or "start"
    name = f"{slug}-{kind}-{first}-{period.last}"
    if kind == "orders":
        rows = exports.order_rows(scope=scope, period=period, tz_name=tz_name)
        return _csv(name, exports.stream(exports.ORDER_HEADER, rows))
    dashboard = _read(scope, tz_name, period, now)
    if kind == "figures":
        return _csv(
            name,
            exports.stream(exports.FIGURE_HEADER, exports.figure_rows(dashboard, currency)),
        )
    if kind == "products":
        names = products(dashboard) if callable(products) else {}
        table = pages.product_table(dashboard, names)
        return _csv(
            name,
            exports.stream(exports.PRODUCT_HEADER, exports.product_rows(table, currency)),
        )
    groups = pages.source_groups(dashboard, limit=None)
    return _csv(name, exports.stream(exports.SOURCE_HEADER, exports.source_rows(groups, currency)))


@seller_required
def seller_export(request: HttpRequest, kind: str) -> HttpResponseBase:
    seller = access_seller(request)
    return _export(
        request,
        kind=kind,
        scope=Scope(seller_id=seller.pk),
        tz_name=book_timezone(seller),
        slug=seller.slug,
        products=lambda _: seller_products(seller.pk),
    )


@seller_required
def product_export(request: HttpRequest, product_id: int, kind: str) -> HttpResponseBase:
    product = access_product_for_seller(request, product_id)
    return _export(
        request,
        kind=kind,
        scope=Scope(seller_id=product.seller_id, product_id=product.pk),
        tz_name=book_timezone(product.seller),
        slug=f"{product.seller.slug}-{product.slug}",
        products=lambda _: {product.pk: {"title": product.title}},
    )


@login_required
def shop_export(request: HttpRequest, kind: str) -> HttpResponseBase:
    access_staff(request)

    def names(dashboard: Dashboard) -> dict[int, dict[str, Any]]:
        products, _ = shop_names(dashboard, limit=10_000)
        return {
            pk: {**row, "seller": row.get("seller__display_name", "")}
            for pk, row in products.items()
        }

    return _export(
        request, kind=kind, scope=Scope(), tz_name=book_timezone(None), slug="shop", products=names
    )
