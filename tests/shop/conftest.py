from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from shop.payments import stripe_api
from tests.stripe_fake import WEBHOOK_SECRET, FakeStripe, post_event


@pytest.fixture
def stripe_fake(settings, monkeypatch) -> FakeStripe:
    """Stripe as the provider, with every API call answered from Stripe's fixtures."""
    settings.PAYMENT_PROVIDER = "stripe"
    settings.STRIPE_SECRET_KEY = "sk_test_suite"
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    fake = FakeStripe()
    monkeypatch.setattr(stripe_api, "_http_client", fake)
    return fake


@pytest.fixture
def deliver(client: Client) -> Callable[..., Any]:
    """POST an event to the webhook endpoint, signed like Stripe signs it."""
    return functools.partial(post_event, client)
