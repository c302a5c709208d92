"""Counting product page views without cookies, trackers or a slower page.

``ProductViewMiddleware`` notices a successful ``GET`` of the product page
(URL name ``catalog:product``) and records the view *after* the response has
been sent: Django calls a response's closers once the server has written the
last byte, so the insert never delays the page. Nothing is set on the
visitor, and nothing about them is kept but the time, the referring site and
the utm tags of the visit (``catalog.attribution``), the same ones an order
carries.

Views are written in batches (decision 106): each process keeps the views of
its pages and writes them in one ``bulk_create`` when ``STATS_VIEW_BATCH`` have
gathered or the oldest is ``STATS_VIEW_FLUSH_SECONDS`` old, by the request
that finds them due or by a timer thread when traffic stops, and at exit. On
SQLite one row per page made every page's commit empty every other
connection's page cache (decision 103); a crash loses at most one batch of
views, which only feed statistics.

Left out: known bots (the community-maintained pattern list of the
``crawler-user-agents`` package, github.com/monperrus/crawler-user-agents,
plus an empty user agent), prefetches and prerenders (``Sec-Purpose`` /
``Purpose`` headers), and the seller looking at their own page.
"""

from __future__ import annotations

import atexit
import logging
import os
import re
import threading
import time
from collections.abc import Callable
from functools import lru_cache

from django.conf import settings
from django.db import DatabaseError, connections
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from catalog.attribution import attribution_from_request
from catalog.models import Product
from shop.stats.models import ProductView

log = logging.getLogger(__name__)

PRODUCT_PAGE = "catalog:product"
_PREFETCH = re.compile(r"prefetch|prerender", re.IGNORECASE)


@lru_cache(maxsize=1)
def _bot_pattern() -> re.Pattern[str]:
    import crawleruseragents

    return re.compile("|".join(p["pattern"] for p in crawleruseragents.CRAWLER_USER_AGENTS_DATA))


@lru_cache(maxsize=4096)
def is_bot(user_agent: str) -> bool:
    """A crawler, a monitor, a script: anything the maintained list knows, or no user agent."""
    user_agent = user_agent.strip()
    return not user_agent or _bot_pattern().search(user_agent) is not None


def counts_as_view(request: HttpRequest, response: HttpResponse) -> bool:
    match = request.resolver_match
    if match is None or match.view_name != PRODUCT_PAGE:
        return False
    if request.method != "GET" or response.status_code != 200:
        return False
    purpose = request.headers.get("Sec-Purpose", "") + request.headers.get("Purpose", "")
    if _PREFETCH.search(purpose):
        return False
    return not is_bot(request.headers.get("User-Agent", "")[:512])


def product_view_record(request: HttpRequest) -> ProductView | None:
    """Store one view of the product page ``request`` showed; None for the seller's own visit."""
    shown: Product | None = getattr(request, "product_shown", None)
    found: tuple[int, int, int] | None
    if shown is not None:
        # The page's own product (catalog.views.product), with its seller.
        found = (shown.pk, shown.seller_id, shown.seller.user_id)
    else:
        match = request.resolver_match
        assert match is not None
        found = (
            Product.objects.filter(
                seller__slug=match.kwargs["seller"], slug=match.kwargs["product"]
            )
            .values_list("pk", "seller_id", "seller__user_id")
            .first()
        )
    if found is None:
        return None
    product_id, seller_id, owner_id = found
    if request.user.is_authenticated and request.user.pk == owner_id:
        return None
    source = attribution_from_request(request)
    view = ProductView(
        seller_id=seller_id,
        product_id=product_id,
        at=timezone.now(),
        referrer_host=source.ref,
        utm_source=source.utm_source,
        utm_campaign=source.utm_campaign,
    )
    VIEWS.add(view)
    return view


class ViewBatch:
    """The views of this process's pages not written yet."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.rows: list[ProductView] = []
        self.oldest = 0.0
        self.timer: threading.Thread | None = None

    def add(self, view: ProductView) -> None:
        size = settings.STATS_VIEW_BATCH
        if size <= 1:
            view.save(force_insert=True)
            return
        with self.lock:
            if not self.rows:
                self.oldest = time.monotonic()
            self.rows.append(view)
            due = len(self.rows) >= size or self._overdue()
            if self.timer is None:
                self.timer = threading.Thread(target=self._tick, name="view-batch", daemon=True)
                self.timer.start()
        if due:
            self.flush()

    def _overdue(self) -> bool:
        return time.monotonic() - self.oldest >= settings.STATS_VIEW_FLUSH_SECONDS

    def flush(self) -> int:
        """Write every view kept; how many were written (0 when the database refused)."""
        with self.lock:
            rows, self.rows = self.rows, []
        if not rows:
            return 0
        try:
            ProductView.objects.bulk_create(rows)
        except DatabaseError:
            # A lost view is better than an error after a page that was served fine.
            log.warning("Could not record %d product views", len(rows), exc_info=True)
            return 0
        return len(rows)

    def _tick(self) -> None:
        # Views of the last pages before traffic stops are written within the delay.
        while True:
            time.sleep(max(settings.STATS_VIEW_FLUSH_SECONDS, 0.05))
            with self.lock:
                due = bool(self.rows) and self._overdue()
            if due:
                self.flush()
                connections.close_all()  # this thread's own connections

    def forget(self) -> None:
        """In a forked child: the parent's views are the parent's to write."""
        self.lock = threading.Lock()
        self.rows, self.timer = [], None


VIEWS = ViewBatch()
os.register_at_fork(after_in_child=VIEWS.forget)
atexit.register(VIEWS.flush)


class ProductViewMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if counts_as_view(request, response):
            # Runs when the server closes the response, after the last byte went out.
            response._resource_closers.append(lambda: self._record(request))  # type: ignore[attr-defined]
        return response

    @staticmethod
    def _record(request: HttpRequest) -> None:
        try:
            product_view_record(request)
        except DatabaseError:
            # A lost view is better than an error after a page that was served fine.
            log.warning("Could not record a product view", exc_info=True)
