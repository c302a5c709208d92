"""Reads for delivery."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, F, IntegerField, Max, OuterRef, Prefetch, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from catalog.models import Asset, Seller
from delivery.access import Holder
from delivery.models import Download, Entitlement, Library

SHARING_WINDOW = timedelta(hours=24)


def library_for_email(*, email: str) -> Library | None:
    return Library.objects.filter(email__iexact=email.strip()).first()


def holder_entitlements(*, holder: Holder) -> QuerySet[Entitlement]:
    """What a holder (library link, account, receipt) reaches, with each product's paid files."""
    deliverables = Asset.objects.filter(role=Asset.Role.DELIVERABLE).order_by("position", "id")
    return (
        Entitlement.objects.filter(holder.entitlements())
        .select_related("product", "product__seller", "license_key")
        .prefetch_related(Prefetch("product__assets", queryset=deliverables, to_attr="files"))
        .order_by("-created_at")
    )


def _downloads_in_window(*, now: datetime | None, seller: Seller | None) -> QuerySet[Download]:
    end = now or timezone.now()
    # order_by(): the model's default ordering would join the GROUP BY below.
    window = Download.objects.filter(at__gt=end - SHARING_WINDOW, at__lte=end).order_by()
    if seller is not None:
        window = window.filter(entitlement__product__seller=seller)
    return window.exclude(network="")


def libraries_with_networks(
    *, now: datetime | None = None, seller: Seller | None = None
) -> QuerySet[Library]:
    """Libraries annotated with ``networks`` (distinct /24 or /48 networks their
    files were fetched from in the 24 hours before ``now``) and
    ``last_download_at`` in that window; only ``seller``'s products count when given."""
    window = _downloads_in_window(now=now, seller=seller).filter(
        entitlement__library=OuterRef("pk")
    )
    networks = window.values("entitlement__library").annotate(n=Count("network", distinct=True))
    last = window.values("entitlement__library").annotate(last=Max("at"))
    return Library.objects.annotate(
        networks=Coalesce(Subquery(networks.values("n")[:1], output_field=IntegerField()), 0),
        last_download_at=Subquery(last.values("last")[:1]),
    )


def libraries_shared_widely(
    *, now: datetime | None = None, seller: Seller | None = None, threshold: int | None = None
) -> QuerySet[Library]:
    """Libraries probably shared: fetched from at least ``DELIVERY_SHARED_NETWORKS``
    networks in the 24 hours before ``now``, most networks first.

    For the sales dashboard (pass ``seller``) and the admin's list filter.
    """
    minimum = settings.DELIVERY_SHARED_NETWORKS if threshold is None else threshold
    flagged = (
        _downloads_in_window(now=now, seller=seller)
        .values("entitlement__library")
        .annotate(n=Count("network", distinct=True))
        .filter(n__gte=minimum)
        .values("entitlement__library")
    )
    return (
        libraries_with_networks(now=now, seller=seller)
        .filter(pk__in=flagged)
        .order_by(F("networks").desc(), "email")
    )


# The sales dashboard lists this many; the admin's filter has them all.
SHARED_ON_DASHBOARD = 10


def shared_widely_for_dashboard(*, seller: Seller, now: datetime | None = None) -> list[Library]:
    """The seller's most widely shared libraries, each with ``seller_entitlements``
    (its purchases of this seller's products, their product loaded): two queries
    when there is any, one when there is none."""
    return list(
        libraries_shared_widely(now=now, seller=seller).prefetch_related(
            Prefetch(
                "entitlements",
                queryset=Entitlement.objects.filter(product__seller=seller)
                .select_related("product")
                .order_by("product__title", "pk"),
                to_attr="seller_entitlements",
            )
        )[:SHARED_ON_DASHBOARD]
    )
