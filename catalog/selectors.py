"""Reads for the public catalog."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from catalog.models import Asset, Product, Seller

VISIBLE_BY_URL = (Product.Status.PUBLISHED, Product.Status.UNLISTED)


def products_listed() -> QuerySet[Product]:
    """What the storefront lists: published products, newest first."""
    return (
        Product.objects.filter(status=Product.Status.PUBLISHED)
        .select_related("seller")
        .order_by("-created_at", "-id")
    )


def product_public(*, seller_slug: str, product_slug: str) -> Product | None:
    """A product anyone may open by its address (published or unlisted)."""
    return (
        Product.objects.filter(
            seller__slug=seller_slug, slug=product_slug, status__in=VISIBLE_BY_URL
        )
        .select_related("seller")
        .prefetch_related(
            Prefetch(
                "assets",
                queryset=Asset.objects.order_by("role", "position", "id"),
                to_attr="ordered_assets",
            )
        )
        .first()
    )


def seller_public(*, slug: str) -> Seller | None:
    return Seller.objects.filter(slug=slug).first()
