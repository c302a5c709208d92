from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import Client

from shop.payments import stripe_api
from tests.stripe_fake import WEBHOOK_SECRET, FakeStripe, post_event


@pytest.fixture
def stripe_fake(settings, monkeypatch) -> Iterator[FakeStripe]:
    """Stripe as the provider, with every API call answered from Stripe's fixtures."""
    settings.PAYMENT_PROVIDER = "stripe"
    settings.STRIPE_SECRET_KEY = "sk_test_suite"
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    fake = FakeStripe()
    monkeypatch.setattr(stripe_api, "_http_client", fake)
    yield fake
    # No database transaction may stay open while the shop waits for Stripe.
    assert fake.inside_transaction == [], "Stripe called inside a transaction"


@pytest.fixture
def deliver(client: Client) -> Callable[..., Any]:
    """POST an event to the webhook endpoint, signed like Stripe signs it."""
    return functools.partial(post_event, client)
