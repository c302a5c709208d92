"""The seller's gate for license keys: only keys of the seller's own products, else 404."""

from __future__ import annotations

from django.http import HttpRequest

from catalog.access import NotOwned, Who, access_seller, request_seller
from catalog.models import Seller
from catalog.money import CountError, parse_count
from delivery.licenses.models import LicenseKey


def _seller(who: Who) -> Seller:
    return request_seller(who) if isinstance(who, HttpRequest) else access_seller(who)


def access_license_for_seller(who: Who, license_id: object) -> LicenseKey:
    seller = _seller(who)
    try:
        pk = parse_count(license_id, minimum=1, maximum=2**63 - 1)
    except CountError:
        pk = 0
    found = (
        LicenseKey.objects.select_related("product", "entitlement__library")
        .filter(pk=pk, product__seller=seller)
        .first()
    )
    if found is None:
        raise NotOwned("No such license key.")
    return found
