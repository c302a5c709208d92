"""Writes for license keys: minted with a purchase, activated, reset, revoked, replaced."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from catalog.license_format import (
    DEFAULT_PATTERN,
    license_key_make,
    license_key_normalize,
    license_pattern_error,
)
from catalog.models import Product, Seller
from delivery.licenses.models import LicenseActivation, LicenseKey
from delivery.models import Entitlement

# A clash of two random keys is about 2^-72 per pair; a few tries settle it anyway.
MINT_TRIES = 5
INSTANCE_MAX_CHARS = 200


def license_key_hash(key: str) -> str:
    return hashlib.sha256(license_key_normalize(key).encode()).hexdigest()


def _minted(product: Product) -> str:
    # The form refuses a weak pattern; one left empty or edited elsewhere gets the default.
    pattern = product.license_format
    if license_pattern_error(pattern) is not None:
        pattern = DEFAULT_PATTERN
    return license_key_normalize(license_key_make(pattern))


def _store_key(license: LicenseKey, product: Product) -> None:
    """Save ``license`` with a fresh key (a new row or a replaced key)."""
    for attempt in range(MINT_TRIES):
        license.key = _minted(product)
        license.key_hash = license_key_hash(license.key)
        try:
            with transaction.atomic():
                license.save()
            return
        except IntegrityError:
            if attempt == MINT_TRIES - 1:
                raise


@transaction.atomic
def license_issue(*, entitlement: Entitlement) -> LicenseKey | None:
    """The purchase's key, minted now if its product gives keys; once per entitlement.

    Runs in the payment's transaction, so a rolled-back payment leaves no key.
    """
    existing = LicenseKey.objects.filter(entitlement=entitlement).first()
    if existing is not None:
        return existing
    product = entitlement.product
    if not product.license_keys:
        return None
    license = LicenseKey(
        entitlement=entitlement, product=product, max_uses=product.license_max_activations
    )
    _store_key(license, product)
    return license


@dataclass(frozen=True, slots=True)
class Verdict:
    """What a verification answers (the API's ``{valid, product, uses, ...}``)."""

    valid: bool
    reason: str  # "" when valid; else unknown, revoked, refunded, limit_reached
    license: LicenseKey | None = None
    activated: bool = False

    @property
    def uses(self) -> int:
        return self.license.uses if self.license else 0

    @property
    def max_uses(self) -> int | None:
        return self.license.max_uses if self.license else None


def license_find(*, seller: Seller, product_id: int, key: str) -> LicenseKey | None:
    """The key of one of ``seller``'s products; any other is not found."""
    wanted = license_key_normalize(key)
    if not wanted or len(wanted) > 64:
        return None
    found = (
        LicenseKey.objects.select_related("entitlement", "product")
        .filter(key_hash=license_key_hash(wanted), product_id=product_id, product__seller=seller)
        .first()
    )
    if found is None or not hmac.compare_digest(found.key.encode(), wanted.encode()):
        return None
    return found


def license_verify(
    *, seller: Seller, product_id: int, key: str, activate: bool = False, instance: str = ""
) -> Verdict:
    """Check a key and, when asked, take one activation from it.

    An instance that activated before is valid again without a new use; a new
    one takes a use through one conditional ``UPDATE``, which no parallel
    request can push past ``max_uses``.
    """
    license = license_find(seller=seller, product_id=product_id, key=key)
    if license is None:
        return Verdict(valid=False, reason="unknown")
    now = timezone.now()
    LicenseKey.objects.filter(pk=license.pk).update(last_checked_at=now)
    if license.is_revoked:
        return Verdict(valid=False, reason="revoked", license=license)
    if license.is_refunded:
        return Verdict(valid=False, reason="refunded", license=license)
    if not activate:
        return Verdict(valid=True, reason="", license=license)
    instance = instance.strip()[:INSTANCE_MAX_CHARS]
    activated = _activate(license, instance)
    license.refresh_from_db(fields=["uses", "max_uses", "revoked_at"])
    if activated is None:
        return Verdict(valid=False, reason="limit_reached", license=license)
    return Verdict(valid=True, reason="", license=license, activated=activated)


def _activate(license: LicenseKey, instance: str) -> bool | None:
    """True: a use was taken; False: ``instance`` had one already; None: no use left."""
    with transaction.atomic():
        if instance:
            try:
                with transaction.atomic():
                    LicenseActivation.objects.create(license=license, instance=instance)
            except IntegrityError:
                return False  # this instance is counted already
        taken = (
            LicenseKey.objects.filter(pk=license.pk, revoked_at__isnull=True)
            .filter(Q(max_uses__isnull=True) | Q(uses__lt=F("max_uses")))
            .update(uses=F("uses") + 1)
        )
        if not taken:
            # Undoes the activation row too: the instance did not get in.
            transaction.set_rollback(True)
            return None
    return True


@transaction.atomic
def license_reset(*, license: LicenseKey) -> LicenseKey:
    """Give every activation back (the buyer moved to a new machine)."""
    LicenseActivation.objects.filter(license=license).delete()
    LicenseKey.objects.filter(pk=license.pk).update(uses=0)
    license.uses = 0
    return license


@transaction.atomic
def license_revoke(*, license: LicenseKey) -> LicenseKey:
    if license.revoked_at is None:
        license.revoked_at = timezone.now()
        LicenseKey.objects.filter(pk=license.pk).update(revoked_at=license.revoked_at)
    return license


@transaction.atomic
def license_restore(*, license: LicenseKey) -> LicenseKey:
    license.revoked_at = None
    LicenseKey.objects.filter(pk=license.pk).update(revoked_at=None)
    return license


@transaction.atomic
def license_regenerate(*, license: LicenseKey) -> LicenseKey:
    """A new key in place of a leaked one: the old key stops working, activations restart."""
    license = LicenseKey.objects.select_for_update().select_related("product").get(pk=license.pk)
    LicenseActivation.objects.filter(license=license).delete()
    license.uses = 0
    _store_key(license, license.product)
    return license
