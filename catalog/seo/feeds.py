"""Atom feeds (Django's syndication framework): the whole shop, one seller, one tag.

Each lists the newest published products, newest first. Links are absolute
from :func:`catalog.seo.site.site_root`, so readers and aggregators get the
shop's own address whatever host they fetched the feed from.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.syndication.views import Feed
from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.translation import gettext as _

from catalog.models import Product, Seller, Tag
from catalog.selectors import products_listed, seller_public
from catalog.seo.site import site_root
from catalog.seo.structured import description_text
from catalog.seo.tags import tag_find, tag_location, tag_products

FEED_SIZE = 30


class _ProductFeed(Feed):
    feed_type = Atom1Feed
    root = ""

    def __call__(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        self.root = site_root(request)
        response = super().__call__(request, *args, **kwargs)
        # The feed writer writes each element into the response on its own (1,400 pieces
        # for 30 products), and the server sends each piece as a write of its own: one
        # piece, one write (decision 97).
        response.content = response.content
        return response

    def products(self, obj: Any) -> QuerySet[Product]:
        return products_listed()

    def items(self, obj: Any) -> QuerySet[Product]:
        return self.products(obj).prefetch_related("tags")[:FEED_SIZE]

    def item_title(self, item: Product) -> str:
        return item.title

    def item_description(self, item: Product) -> str:
        return description_text(item.description, 500)

    def item_link(self, item: Product) -> str:
        return self.root + item.get_absolute_url()

    def item_guid(self, item: Product) -> str:
        return self.root + item.get_absolute_url()

    def item_author_name(self, item: Product) -> str:
        return item.seller.display_name

    def item_author_link(self, item: Product) -> str:
        return self.root + item.seller.get_absolute_url()

    def item_pubdate(self, item: Product) -> datetime:
        return item.created_at

    def item_updateddate(self, item: Product) -> datetime:
        return item.updated_at

    def item_categories(self, item: Product) -> list[str]:
        return [tag.slug for tag in item.tags.all()]


class ShopFeed(_ProductFeed):
    def title(self) -> str:
        from django.conf import settings

        return _("New at %(store)s") % {"store": settings.STORE_NAME}

    def subtitle(self) -> str:
        return _("Ebooks, music and videos, sold directly by the people who make them.")

    def link(self) -> str:
        return self.root + reverse("catalog:home")

    def feed_url(self) -> str:
        return self.root + reverse("seo:feed_shop")


class SellerFeed(_ProductFeed):
    def get_object(self, request: HttpRequest, seller: str) -> Seller:  # type: ignore[override]
        found = seller_public(slug=seller)
        if found is None:
            raise Http404(_("No such seller."))
        return found

    def products(self, obj: Seller) -> QuerySet[Product]:
        return products_listed().filter(seller=obj)

    def title(self, obj: Seller) -> str:
        return _("New from %(seller)s") % {"seller": obj.display_name}

    def subtitle(self, obj: Seller) -> str:
        return description_text(obj.bio, 300)

    def link(self, obj: Seller) -> str:
        return self.root + obj.get_absolute_url()

    def feed_url(self, obj: Seller) -> str:
        return self.root + reverse("seo:feed_seller", kwargs={"seller": obj.slug})


class TagFeed(_ProductFeed):
    def get_object(self, request: HttpRequest, tag: str) -> Tag:  # type: ignore[override]
        found = tag_find(tag)
        if found is None:
            raise Http404(_("No such tag."))
        return found

    def products(self, obj: Tag) -> QuerySet[Product]:
        return tag_products(obj).select_related("seller").order_by("-created_at", "-id")

    def title(self, obj: Tag) -> str:
        return _("New in “%(tag)s”") % {"tag": obj.slug}

    def link(self, obj: Tag) -> str:
        return self.root + tag_location(obj.slug)

    def feed_url(self, obj: Tag) -> str:
        return self.root + reverse("seo:feed_tag", kwargs={"tag": obj.slug})
