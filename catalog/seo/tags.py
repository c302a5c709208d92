"""Tags as the sitemap and the tag feed see them: the one place to point at a tag model.

Today a tag is ``catalog.Tag`` (a slug); a listing page per tag is being built
beside this. :func:`tag_location` names that page when its URL exists, and
the home page filtered by the tag until then.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Max, Q, QuerySet
from django.urls import NoReverseMatch, reverse
from django.utils.http import urlencode

from catalog.models import Product, Tag
from catalog.sqlshape import compiled, fetch

# URL names the tag listing may take; the first that resolves wins.
TAG_PAGE_NAMES = ("discovery:tag", "catalog:tag")


@dataclass(frozen=True)
class TagEntry:
    slug: str
    lastmod: datetime | None


def tags_listed() -> QuerySet[Tag]:
    """Tags carried by at least one published product, with the newest change among them."""
    published = Q(products__status=Product.Status.PUBLISHED)
    return (
        Tag.objects.filter(published)
        .annotate(lastmod=Max("products__updated_at", filter=published))
        .order_by("slug")
    )


def _tag_by_slug(values: Mapping[str, Any]) -> QuerySet[Tag]:
    return Tag.objects.filter(slug=values["slug"]).order_by("pk")[:1]


def tag_find(slug: str) -> Tag | None:
    """The tag of a tag page: its query compiled once per process (decision 98)."""
    found = fetch(*compiled(("tag_find",), _tag_by_slug, {"slug": slug}), Tag)
    return found[0] if found else None


def tag_products(tag: Tag) -> QuerySet[Product]:
    return Product.objects.filter(tags=tag, status=Product.Status.PUBLISHED)


def tag_location(slug: str) -> str:
    """The path of a tag's listing page."""
    for name in TAG_PAGE_NAMES:
        try:
            return reverse(name, kwargs={"tag": slug})
        except NoReverseMatch:
            continue
    return reverse("catalog:home") + "?" + urlencode({"tag": slug})
