"""Reads for license keys."""

from __future__ import annotations

from django.db.models import QuerySet

from catalog.models import Product, Seller
from delivery.licenses.models import LicenseKey


def seller_licenses(*, seller: Seller, product: Product | None = None) -> QuerySet[LicenseKey]:
    """The seller's keys, newest first, with their buyer and product."""
    rows = LicenseKey.objects.filter(product__seller=seller)
    if product is not None:
        rows = rows.filter(product=product)
    return rows.select_related("product", "entitlement__library").order_by("-created_at", "-pk")
