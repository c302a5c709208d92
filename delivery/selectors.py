"""Reads for delivery."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from catalog.models import Asset
from delivery.models import Entitlement, Library, LibraryLink
from delivery.services import hash_token


def library_link_lookup(*, token: str) -> LibraryLink | None:
    """The live link for a token, or None for an unknown or revoked one."""
    if not token or len(token) > 128:
        return None
    return (
        LibraryLink.objects.select_related("library")
        .filter(token_hash=hash_token(token), revoked_at__isnull=True)
        .first()
    )


def library_entitlements(*, library: Library) -> QuerySet[Entitlement]:
    deliverables = Asset.objects.filter(role=Asset.Role.DELIVERABLE).order_by("position", "id")
    return (
        Entitlement.objects.filter(library=library)
        .select_related("product", "product__seller")
        .prefetch_related(Prefetch("product__assets", queryset=deliverables, to_attr="files"))
        .order_by("-created_at")
    )


def libraries_for_user(*, user_email: str) -> QuerySet[Library]:
    return Library.objects.filter(email__iexact=user_email)
