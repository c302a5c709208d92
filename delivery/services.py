"""Writes for delivery: libraries, their links, entitlements and the download log."""

from __future__ import annotations

import hashlib
import ipaddress
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from catalog.accounts import email_normalize
from catalog.models import Asset, Product
from delivery.models import Download, Entitlement, Library, LibraryLink


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def library_get_or_create(*, email: str) -> Library:
    email = email_normalize(email)
    library = Library.objects.filter(email__iexact=email).first()
    if library is None:
        library, _ = Library.objects.get_or_create(email=email)
    return library


@transaction.atomic
def library_link_create(*, library: Library) -> str:
    """Mint a new library link; the token is returned once and only its hash is kept."""
    token = secrets.token_urlsafe(32)
    LibraryLink.objects.create(library=library, token_hash=hash_token(token))
    return token


@transaction.atomic
def library_link_revoke(*, link: LibraryLink) -> None:
    if link.revoked_at is None:
        link.revoked_at = timezone.now()
        link.save(update_fields=["revoked_at"])


@transaction.atomic
def entitlement_grant(
    *, email: str, product: Product, download_limit: int | None = None
) -> Entitlement:
    library = library_get_or_create(email=email)
    return Entitlement.objects.create(
        library=library, product=product, download_limit=download_limit
    )


@transaction.atomic
def entitlement_revoke(*, entitlement: Entitlement, reason: str) -> Entitlement:
    entitlement = Entitlement.objects.select_for_update().get(pk=entitlement.pk)
    if entitlement.status != Entitlement.Status.REVOKED:
        entitlement.status = Entitlement.Status.REVOKED
        entitlement.revoked_reason = reason[:200]
        entitlement.revoked_at = timezone.now()
        entitlement.save(update_fields=["status", "revoked_reason", "revoked_at"])
    return entitlement


def _printable(text: str) -> str:
    # Headers are client input: PostgreSQL refuses NUL bytes in text columns.
    return "".join(ch for ch in text if ch.isprintable())


def ip_network(ip: str | None) -> str:
    """The /24 (IPv4) or /48 (IPv6) network of an address; "" when there is none.

    An IPv4 address seen through IPv6 (``::ffff:203.0.113.9``) counts as IPv4,
    so one client is one network whichever way it connects.
    """
    try:
        address = ipaddress.ip_address(ip or "")
    except ValueError:
        return ""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def download_window_start() -> datetime:
    return timezone.now() - timedelta(seconds=settings.DOWNLOAD_WINDOW_SECONDS)


@transaction.atomic
def download_record(
    *,
    entitlement: Entitlement,
    asset: Asset,
    ip: str | None,
    user_agent: str,
    range_header: str,
) -> Download:
    """Log a request for bytes; it counts against the limit once per window."""
    # The row lock serialises concurrent requests for one entitlement, so two
    # parallel range requests of a download manager count once, not twice.
    Entitlement.objects.select_for_update().only("pk").get(pk=entitlement.pk)
    recent = Download.objects.filter(
        entitlement=entitlement, asset=asset, counted=True, at__gte=download_window_start()
    ).exists()
    return Download.objects.create(
        entitlement=entitlement,
        asset=asset,
        at=timezone.now(),
        ip=ip,
        network=ip_network(ip),
        user_agent=_printable(user_agent)[:300],
        range_header=_printable(range_header)[:100],
        counted=not recent,
    )
