"""The download gate: every byte a buyer receives passes through here.

A *file link* is ``django.core.signing`` output (``TimestampSigner`` with the
salt ``delivery.file-link``) over the JSON object ``{"e": <entitlement id>,
"a": <asset id>}``. It proves that the site minted it and when; whether it is
still good is decided against the database on every request:

1. the signature checks out against ``SECRET_KEY`` or one of
   ``SECRET_KEY_FALLBACKS`` (otherwise: :class:`LinkInvalid`, a plain 404);
2. it is younger than ``FILE_LINK_MAX_AGE`` seconds (:class:`LinkExpired`);
3. the entitlement exists and is active (:class:`EntitlementRevoked` says why);
4. the asset belongs to the entitlement's product (:class:`LinkInvalid`);
5. the download limit, if any, is not reached (:class:`LimitReached`) — a
   request inside the window of a download already counted is a resume and
   always passes.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core import signing

from catalog.models import Asset
from delivery.models import Download, Entitlement
from delivery.services import download_window_start

FILE_LINK_SALT = "delivery.file-link"


class AccessDenied(Exception):
    """Base of every refusal; ``status`` is the HTTP status a view answers with."""

    status = 403


class LinkInvalid(AccessDenied):
    status = 404


class LinkExpired(AccessDenied):
    status = 410


class EntitlementRevoked(AccessDenied):
    status = 403

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class LimitReached(AccessDenied):
    status = 403


@dataclass(frozen=True, slots=True)
class FileAccess:
    entitlement: Entitlement
    asset: Asset


def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=FILE_LINK_SALT)


def file_link_mint(*, entitlement: Entitlement, asset: Asset) -> str:
    return _signer().sign_object({"e": entitlement.pk, "a": asset.pk}, compress=False)


def _decode(token: str) -> tuple[int, int]:
    signer = _signer()
    try:
        payload = signer.unsign_object(token, max_age=settings.FILE_LINK_MAX_AGE)
    except signing.SignatureExpired:
        raise LinkExpired("This download link has expired.") from None
    except (signing.BadSignature, ValueError, UnicodeDecodeError):
        raise LinkInvalid("Unknown link.") from None
    try:
        return int(payload["e"]), int(payload["a"])
    except (TypeError, KeyError, ValueError):
        raise LinkInvalid("Unknown link.") from None


def access_file_link(token: str) -> FileAccess:
    """Check a file link completely; return what it grants or raise AccessDenied."""
    entitlement_id, asset_id = _decode(token)
    entitlement = (
        Entitlement.objects.select_related("product", "library").filter(pk=entitlement_id).first()
    )
    if entitlement is None:
        raise LinkInvalid("Unknown link.")
    asset = Asset.objects.filter(pk=asset_id, product_id=entitlement.product_id).first()
    if asset is None:
        raise LinkInvalid("Unknown link.")
    if not entitlement.is_active:
        raise EntitlementRevoked(entitlement.revoked_reason or "This purchase was revoked.")
    if entitlement.download_limit is not None:
        counted = Download.objects.filter(entitlement=entitlement, asset=asset, counted=True)
        if (
            counted.count() >= entitlement.download_limit
            and not counted.filter(at__gte=download_window_start()).exists()
        ):
            raise LimitReached("The download limit for this file is reached.")
    return FileAccess(entitlement=entitlement, asset=asset)


def access_entitlement_asset(*, entitlement: Entitlement, asset_id: int) -> Asset:
    """The asset a library may mint a link for: one of the entitlement's product files."""
    if not entitlement.is_active:
        raise EntitlementRevoked(entitlement.revoked_reason or "This purchase was revoked.")
    asset = Asset.objects.filter(pk=asset_id, product_id=entitlement.product_id).first()
    if asset is None:
        raise LinkInvalid("Unknown file.")
    return asset
