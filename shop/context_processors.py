from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from shop.cart import Cart
from shop.payments.base import test_mode_active


def storefront(request: HttpRequest) -> dict[str, object]:
    session = getattr(request, "session", None)
    return {
        "store_name": settings.STORE_NAME,
        "payments_test_mode": test_mode_active(),
        "cart_size": len(Cart(session)) if session is not None else 0,
    }
