"""Reads for the public catalog."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import models
from django.db.models import Count, Q, QuerySet

from catalog.models import Asset, Product, Seller, Tag, UploadSession
from catalog.sqlshape import compiled, fetch

VISIBLE_BY_URL = (Product.Status.PUBLISHED, Product.Status.UNLISTED)


def products_listed() -> QuerySet[Product]:
    """What the storefront lists: published products, newest first."""
    return (
        Product.objects.filter(status=Product.Status.PUBLISHED)
        .select_related("seller")
        .order_by("-created_at", "-id")
    )


def _product_by_address(values: Mapping[str, Any]) -> QuerySet[Product]:
    return (
        Product.objects.filter(
            seller__slug=values["seller"], slug=values["product"], status__in=VISIBLE_BY_URL
        )
        .select_related("seller")
        .order_by("pk")[:1]
    )


def _product_assets(values: Mapping[str, Any]) -> QuerySet[Asset]:
    return Asset.objects.filter(product_id=values["product"]).order_by("role", "position", "id")


def _product_tags(values: Mapping[str, Any]) -> QuerySet[Tag]:
    return Tag.objects.filter(products=values["product"])


def product_public(*, seller_slug: str, product_slug: str) -> Product | None:
    """A product anyone may open by its address (published or unlisted), with its seller,
    its files in order (``ordered_assets``) and its tags (``listed_tags``).

    Three queries, as ``select_related`` and two prefetches made them, each compiled
    once per process (decision 98): the ORM spent longer building them than SQLite
    running them.
    """
    address = {"seller": seller_slug, "product": product_slug}
    found = fetch(
        *compiled(("product_public",), _product_by_address, address),
        Product,
        related={"seller": Seller},
    )
    if not found:
        return None
    product = found[0]
    ids = {"product": product.pk}
    assets = list(fetch(*compiled(("product_assets",), _product_assets, ids), Asset))
    for asset in assets:
        asset.product = product
    product.ordered_assets = assets  # type: ignore[attr-defined]
    tags = fetch(*compiled(("product_tags",), _product_tags, ids), Tag)
    product.listed_tags = list(tags)  # type: ignore[attr-defined]
    return product


def _seller_by_slug(values: Mapping[str, Any]) -> QuerySet[Seller]:
    return Seller.objects.filter(slug=values["slug"]).order_by("pk")[:1]


def seller_public(*, slug: str) -> Seller | None:
    found = fetch(*compiled(("seller_public",), _seller_by_slug, {"slug": slug}), Seller)
    return found[0] if found else None


# --- The seller's side ---------------------------------------------------------


def product_has_sales(*, product: Product) -> bool:
    """Whether anything that must outlive the product points at it (an entitlement,
    an order item). Found through the relations that PROTECT a product, so the
    catalog needs no import of the apps that sell and deliver."""
    for relation in Product._meta.related_objects:
        if relation.on_delete is models.PROTECT:
            related = relation.related_model._base_manager  # type: ignore[union-attr]
            if related.filter(**{relation.field.name: product}).exists():
                return True
    return False


def seller_products(*, seller: Seller) -> QuerySet[Product]:
    """A seller's own products, every status, for the dashboard."""
    return (
        Product.objects.filter(seller=seller)
        .annotate(
            file_count=Count("assets", filter=Q(assets__role=Asset.Role.DELIVERABLE)),
            preview_count=Count("assets", filter=Q(assets__role=Asset.Role.PREVIEW)),
        )
        .order_by("-updated_at", "-id")
    )


def product_assets(*, product: Product) -> dict[str, list[Asset]]:
    """A product's files by role, in their order."""
    found: dict[str, list[Asset]] = {role: [] for role in Asset.Role.values}
    for asset in Asset.objects.filter(product=product).order_by("role", "position", "id"):
        found[asset.role].append(asset)
    return found


def seller_uploads_open(*, seller: Seller, product: Product) -> QuerySet[UploadSession]:
    return UploadSession.objects.filter(
        seller=seller, product=product, status=UploadSession.Status.RECEIVING
    ).order_by("created_at")
