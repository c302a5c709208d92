from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from shop.payments.base import test_mode_active


def storefront(request: HttpRequest) -> dict[str, object]:
    return {"store_name": settings.STORE_NAME, "payments_test_mode": test_mode_active()}
