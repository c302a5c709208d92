"""Reads for the public catalog."""

from __future__ import annotations

from django.db import models
from django.db.models import Count, Prefetch, Q, QuerySet

from catalog.models import Asset, Product, Seller, UploadSession

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
            "tags",
            Prefetch(
                "assets",
                queryset=Asset.objects.order_by("role", "position", "id"),
                to_attr="ordered_assets",
            ),
        )
        .first()
    )


def seller_public(*, slug: str) -> Seller | None:
    return Seller.objects.filter(slug=slug).first()


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
