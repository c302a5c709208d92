"""A provider that takes no money: the buyer clicks "pay" or "decline" on a local page.

It lets the demo and the tests walk the whole purchase without Stripe keys.
Every page shows a banner while it is active.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.urls import reverse

if TYPE_CHECKING:
    from django.http import HttpRequest

    from shop.models import Order


class TestModeProvider:
    __test__ = False  # not a pytest test class
    name = "test"
    is_test = True

    def start(self, *, order: Order, request: HttpRequest) -> str:
        return reverse("shop:test_pay", kwargs={"order": order.public_id})
