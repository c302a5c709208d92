"""System checks of the shop's own settings, reported by ``manage.py check --deploy``."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning, register


@register(Tags.security, deploy=True)
def check_test_payments(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """A production shop on the test-mode provider gives goods away: say so before it opens."""
    if settings.DEBUG or settings.PAYMENT_PROVIDER != "test" or not settings.TEST_PAYMENTS_ENABLED:
        return []
    return [
        Warning(
            "Test-mode payments are on with DEBUG off: every order is paid by a click "
            "and no money is taken.",
            hint="Set PAYMENT_PROVIDER=stripe with the STRIPE_* variables, or "
            "TEST_PAYMENTS_ENABLED=false, unless this is a demo that must take no money.",
            id="shop.W001",
        )
    ]
