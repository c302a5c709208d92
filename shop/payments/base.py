"""The payment provider seam: checkout starts here, whatever takes the money."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from django.conf import settings
from django.utils.translation import gettext

if TYPE_CHECKING:
    from django.http import HttpRequest

    from shop.models import Order


class PaymentsUnavailable(Exception):
    """No provider may take payments with the current settings."""


class PaymentProvider(Protocol):
    name: str
    is_test: bool

    def start(self, *, order: Order, request: HttpRequest) -> str:
        """Begin paying an order; return the URL to send the buyer to."""
        ...


def get_provider() -> PaymentProvider:
    if settings.PAYMENT_PROVIDER == "test":
        if not settings.TEST_PAYMENTS_ENABLED:
            raise PaymentsUnavailable(
                gettext(
                    "Test-mode payments are switched off outside DEBUG; set "
                    "TEST_PAYMENTS_ENABLED=true or configure Stripe."
                )
            )
        from shop.payments.testmode import TestModeProvider

        return TestModeProvider()
    if not settings.STRIPE_SECRET_KEY:
        raise PaymentsUnavailable(gettext("Stripe is selected but STRIPE_SECRET_KEY is not set."))
    from shop.payments.stripe_provider import StripeProvider

    return StripeProvider()


def test_mode_active() -> bool:
    return settings.PAYMENT_PROVIDER == "test" and settings.TEST_PAYMENTS_ENABLED
