"""The sitemap sections (Django's sitemaps framework): products, sellers, tags.

Only what the shop lists is in them: published products, sellers with at
least one, tags carried by one. Unlisted products are reachable by their
address but never announced (their page says ``noindex``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.sitemaps import Sitemap
from django.db.models import Exists, Max, OuterRef, Q, QuerySet

from catalog.models import Product, Seller, Tag
from catalog.seo.site import site_root
from catalog.seo.tags import tag_location, tags_listed


def _latest(*, tagged: bool = False) -> datetime | None:
    """The newest change among published products (carrying a tag, for the tag section)."""
    found = Product.objects.filter(status=Product.Status.PUBLISHED)
    if tagged:
        found = found.filter(tags__isnull=False)
    return found.aggregate(latest=Max("updated_at"))["latest"]


class _ShopSitemap(Sitemap):
    limit = 5000
    # Filled by the view: the root URLs are built from (SITE_URL or the request).
    root = ""

    def get_urls(self, page: int | str = 1, site: Any = None, protocol: str | None = None) -> Any:
        scheme, _, host = (self.root or site_root()).partition("://")
        return self._urls(page, scheme, host)  # type: ignore[attr-defined]


class ProductSitemap(_ShopSitemap):
    changefreq = "weekly"

    def items(self) -> QuerySet[Product]:
        return (
            Product.objects.filter(status=Product.Status.PUBLISHED)
            .select_related("seller")
            .only("slug", "updated_at", "seller__slug")
            .order_by("id")
        )

    def location(self, item: Product) -> str:
        return item.get_absolute_url()

    def lastmod(self, item: Product) -> datetime:
        return item.updated_at

    def get_latest_lastmod(self) -> datetime | None:
        # One aggregate, not every row (the framework's default walks the whole section).
        return _latest()


class SellerSitemap(_ShopSitemap):
    changefreq = "weekly"

    def items(self) -> QuerySet[Seller]:
        published = Q(products__status=Product.Status.PUBLISHED)
        listed = Product.objects.filter(seller=OuterRef("pk"), status=Product.Status.PUBLISHED)
        return (
            Seller.objects.filter(Exists(listed))
            .annotate(lastmod=Max("products__updated_at", filter=published))
            .only("slug")
            .order_by("id")
        )

    def get_latest_lastmod(self) -> datetime | None:
        return _latest()

    def location(self, item: Seller) -> str:
        return item.get_absolute_url()

    def lastmod(self, item: Seller) -> datetime | None:
        return getattr(item, "lastmod", None)


class TagSitemap(_ShopSitemap):
    changefreq = "daily"

    def items(self) -> QuerySet[Tag]:
        return tags_listed()

    def get_latest_lastmod(self) -> datetime | None:
        return _latest(tagged=True)

    def location(self, item: Tag) -> str:
        return tag_location(item.slug)

    def lastmod(self, item: Tag) -> datetime | None:
        return getattr(item, "lastmod", None)


SITEMAPS: dict[str, type[_ShopSitemap]] = {
    "products": ProductSitemap,
    "sellers": SellerSitemap,
    "tags": TagSitemap,
}


def sitemaps_for(root: str) -> dict[str, Sitemap | type[Sitemap]]:
    """One instance of each section whose URLs start with ``root``."""
    found: dict[str, Sitemap | type[Sitemap]] = {}
    for name, cls in SITEMAPS.items():
        section = cls()
        section.root = root
        found[name] = section
    return found
