"""Who may act on which sale: the seller-side gate for orders and payouts.

A seller reaches an order item only when it is theirs; anything else is a
404, so the answer never reveals that another seller's sale exists. Who the
seller is comes from the catalog's gate (``catalog.access.access_seller``),
and the views sit behind its one decorator, ``catalog.access.seller_required``.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest

from catalog import access as catalog_access
from catalog.models import Product, Seller
from shop.models import DiscountCode, OrderItem


def access_seller(request: HttpRequest) -> Seller:
    """The seller behind a request (views are behind ``seller_required``)."""
    try:
        return catalog_access.request_seller(request)
    except catalog_access.NotASeller:
        raise Http404("You have no shop yet.") from None


def access_item_for_seller(request: HttpRequest, item_id: int) -> OrderItem:
    seller = access_seller(request)
    item = (
        OrderItem.objects.select_related("order", "product", "entitlement")
        .filter(pk=item_id, seller=seller)
        .first()
    )
    if item is None:
        raise Http404("No such sale.")
    return item


def access_code_for_seller(request: HttpRequest, code_id: int) -> DiscountCode:
    seller = access_seller(request)
    code = DiscountCode.objects.filter(pk=code_id, seller=seller).first()
    if code is None:
        raise Http404("No such code.")
    return code


def access_product_for_seller(request: HttpRequest, product_id: int) -> Product:
    """One of the logged-in seller's products (its seller loaded); anyone else's is a 404."""
    try:
        return catalog_access.access_product_for_seller(request, product_id)
    except catalog_access.NotASeller:
        raise Http404("No such product.") from None


def access_staff(request: HttpRequest) -> None:
    """The shop-wide dashboard: platform staff only; to anyone else it does not exist."""
    if not (request.user.is_authenticated and request.user.is_staff and request.user.is_active):
        raise Http404("No such page.")
