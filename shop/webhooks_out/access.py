"""The gate of the webhook pages: a seller reaches only their own endpoints and deliveries."""

from __future__ import annotations

from django.http import HttpRequest

from catalog import access as catalog_access
from catalog.money import CountError, parse_count
from shop.webhooks_out.models import Delivery, Endpoint


def _pk(value: object) -> int:
    try:
        return parse_count(value, minimum=1, maximum=2**63 - 1)
    except CountError:
        return 0


def access_endpoint_for_seller(request: HttpRequest, endpoint_id: object) -> Endpoint:
    seller = catalog_access.request_seller(request)
    found = Endpoint.objects.filter(pk=_pk(endpoint_id), seller=seller).first()
    if found is None:
        raise catalog_access.NotOwned("No such endpoint.")
    return found


def access_delivery_for_seller(request: HttpRequest, delivery_id: object) -> Delivery:
    seller = catalog_access.request_seller(request)
    found = (
        Delivery.objects.select_related("endpoint", "event")
        .filter(pk=_pk(delivery_id), endpoint__seller=seller)
        .first()
    )
    if found is None:
        raise catalog_access.NotOwned("No such delivery.")
    return found
