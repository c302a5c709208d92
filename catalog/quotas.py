"""Storage quotas per seller: bytes stored, bytes announced by open uploads, open uploads.

A seller's usage is what their files hold (``Asset.size_bytes``) plus the full
announced size of every upload still open: an upload reserves its bytes when it
starts, so five 20 GB sessions cannot be opened against 50 GB. A seller whose
email is not confirmed yet gets a small quota (``SELLER_QUOTA_UNVERIFIED_*``):
signing up costs nothing, so an unconfirmed account must not cost the shop
much either. Every way bytes come in asks `quota_check` first: the resumable
upload (`upload_create`), the one-request form and each file of a catalog
import (`asset_upload`), and the import's unpacking (`quota_left`).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, Sum
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from catalog.l10n import format_size
from catalog.models import Asset, Seller, UploadSession
from catalog.services import CatalogError

OPEN_STATUSES = (UploadSession.Status.RECEIVING, UploadSession.Status.FINISHING)


@dataclass(frozen=True, slots=True)
class Quota:
    stored_bytes: int
    open_uploads: int


@dataclass(frozen=True, slots=True)
class Usage:
    quota: Quota
    verified: bool
    stored: int  # bytes of the seller's files
    announced: int  # bytes announced by the uploads still open
    open_uploads: int

    @property
    def used(self) -> int:
        return self.stored + self.announced

    @property
    def left(self) -> int:
        return max(0, self.quota.stored_bytes - self.used)

    @property
    def percent(self) -> int:
        return (
            min(100, round(100 * self.used / self.quota.stored_bytes))
            if self.quota.stored_bytes
            else 100
        )

    @property
    def summary(self) -> str:
        """ "3.2 GB of 50 GB used", as the files page shows it."""
        return gettext("%(used)s of %(quota)s used") % {
            "used": human_size(self.used),
            "quota": human_size(self.quota.stored_bytes),
        }


def seller_quota(seller: Seller) -> Quota:
    if seller.is_verified:
        return Quota(settings.SELLER_QUOTA_BYTES, settings.SELLER_QUOTA_OPEN_UPLOADS)
    return Quota(
        settings.SELLER_QUOTA_UNVERIFIED_BYTES, settings.SELLER_QUOTA_UNVERIFIED_OPEN_UPLOADS
    )


def storage_usage(*, seller: Seller) -> Usage:
    """What the seller's files and open uploads take, against their quota (two queries)."""
    stored = Asset.objects.filter(product__seller=seller).aggregate(total=Sum("size_bytes"))
    uploads = UploadSession.objects.filter(
        seller=seller, status__in=OPEN_STATUSES, expires_at__gt=timezone.now()
    ).aggregate(total=Sum("size_bytes"), count=Count("pk"))
    return Usage(
        quota=seller_quota(seller),
        verified=seller.is_verified,
        stored=stored["total"] or 0,
        announced=uploads["total"] or 0,
        open_uploads=uploads["count"] or 0,
    )


def quota_check(*, seller: Seller, adding: int, opening_upload: bool = False) -> Usage:
    """Refuse (``CatalogError``, 413) what would take the seller past their quota.

    Callers that must not race (two uploads opened at once) hold the seller's
    row lock while they check and write.
    """
    usage = storage_usage(seller=seller)
    hint = "" if usage.verified else _unverified_hint()
    if opening_upload and usage.open_uploads >= usage.quota.open_uploads:
        raise CatalogError(
            ngettext(
                "You already have %(count)s unfinished upload open; your shop may have "
                "%(most)s at a time. Let one finish, or cancel it, first.",
                "You already have %(count)s unfinished uploads open; your shop may have "
                "%(most)s at a time. Let one finish, or cancel it, first.",
                usage.open_uploads,
            )
            % {"count": usage.open_uploads, "most": usage.quota.open_uploads}
            + hint,
            status=413,
        )
    if usage.used + adding > usage.quota.stored_bytes:
        values = {
            "size": human_size(adding),
            "summary": usage.summary,
            "reserved": human_size(usage.announced),
            "left": human_size(usage.left),
        }
        message = (
            gettext(
                "This file (%(size)s) does not fit in your storage quota: %(summary)s "
                "(%(reserved)s of it reserved by unfinished uploads), %(left)s left. Delete "
                "files you no longer sell, or cancel unfinished uploads, to make room."
            )
            if usage.announced
            else gettext(
                "This file (%(size)s) does not fit in your storage quota: %(summary)s, "
                "%(left)s left. Delete files you no longer sell, or cancel unfinished "
                "uploads, to make room."
            )
        )
        raise CatalogError(message % values + hint, status=413)
    return usage


def quota_left(*, seller: Seller) -> int:
    """Bytes the seller may still add (what a catalog import may unpack)."""
    return storage_usage(seller=seller).left


def _unverified_hint() -> str:
    return " " + gettext(
        "Confirm your email address to raise it to %(size)s and %(count)s uploads at a time."
    ) % {
        "size": human_size(settings.SELLER_QUOTA_BYTES),
        "count": settings.SELLER_QUOTA_OPEN_UPLOADS,
    }


def human_size(size: int) -> str:
    """1,500,000 → "1.5 MB" ("1,5 Mo" in French); whole numbers without the ".0" ("50 GB")."""
    return format_size(size)
