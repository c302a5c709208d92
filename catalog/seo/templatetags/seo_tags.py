"""``{% product_head %}`` and ``{% seller_head %}``: a page's <head> for machines.

Each renders a small template into the page's ``head`` block: JSON-LD,
OpenGraph and Twitter tags, feed and oEmbed discovery links. The product page
passes the files it already loaded, so nothing here queries the database.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.conf import settings
from django.utils.http import urlencode
from django.utils.translation import gettext

from catalog.models import Asset, Product, Seller
from catalog.paths import path_to
from catalog.seo.site import site_root
from catalog.seo.structured import (
    absolute_to,
    breadcrumbs,
    description_text,
    json_ld_script,
    product_json_ld,
    product_meta,
    seller_json_ld,
)
from catalog.seo.tags import tag_location
from catalog.templatetags.catalog_tags import variant

register = template.Library()


@register.inclusion_tag("seo/_product_head.html", takes_context=True)
def product_head(
    context: template.Context,
    product: Product,
    previews: list[Asset],
    files: list[Asset],
    root: str | None = None,
) -> dict[str, Any]:
    """``root``: the site's address, when the page knows it without its request (the product
    page's kept parts, decision 107)."""
    root = root or site_root(context.get("request"))
    url = root + product.get_absolute_url()
    return {
        "product": product,
        "unlisted": product.status != Product.Status.PUBLISHED,
        "json_ld": json_ld_script(
            product_json_ld(product, files=files, previews=previews, root=root)
        ),
        "meta": product_meta(product, previews=previews, root=root, store_name=settings.STORE_NAME),
        "seller_feed": root + path_to("seo:feed_seller", seller=product.seller.slug),
        "oembed_url": root
        + path_to("seo:oembed")
        + "?"
        + urlencode({"url": url, "format": "json"}),
    }


@register.inclusion_tag("seo/_seller_head.html", takes_context=True)
def seller_head(
    context: template.Context, seller: Seller, root: str | None = None
) -> dict[str, Any]:
    root = root or site_root(context.get("request"))
    return {
        "seller": seller,
        "json_ld": json_ld_script(seller_json_ld(seller, root=root)),
        "seller_feed": root + path_to("seo:feed_seller", seller=seller.slug),
        "title": seller.display_name,
        "url": root + seller.get_absolute_url(),
        "description": description_text(seller.bio, 200),
        "image": absolute_to(root, variant(seller.avatar, "600.jpg")) if seller.avatar else "",
    }


@register.inclusion_tag("seo/_tag_head.html", takes_context=True)
def tag_head(context: template.Context, tag: str) -> dict[str, Any]:
    """For a tag's listing page: its feed and its breadcrumbs (``{% tag_head tag.slug %}``)."""
    request = context.get("request")
    root = site_root(request)
    trail = [(gettext("Home"), path_to("catalog:home")), (tag, tag_location(tag))]
    return {
        "tag": tag,
        "tag_feed": root + path_to("seo:feed_tag", tag=tag),
        "json_ld": json_ld_script([breadcrumbs(root, trail)]),
    }
