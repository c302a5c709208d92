"""Tags as the sitemap and the tag feed see them: the one place to point at a tag model.

Today a tag is ``catalog.Tag`` (a slug); a listing page per tag is being built
beside this. :func:`tag_location` names that page when its URL exists, and
the home page filtered by the tag until then.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Max, Q, QuerySet
from django.urls import NoReverseMatch, reverse
from django.utils.http import urlencode

from catalog.models import Product, Tag

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


def tag_find(slug: str) -> Tag | None:
    return Tag.objects.filter(slug=slug).first()


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
