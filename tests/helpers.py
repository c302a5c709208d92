"""Small helpers shared by the tests: walking checkout and reading links out of emails."""

from __future__ import annotations

import re

from django.core import mail
from django.test import Client
from django.urls import reverse

from catalog.models import Product
from shop.models import Order

KEY = "k" * 24


def start_checkout(
    client: Client,
    product: Product,
    *,
    email: str = "fan@example.com",
    key: str = KEY,
    **extra: str,
):
    return client.post(
        reverse("shop:checkout", args=[product.pk]),
        {"email": email, "checkout_key": key, **extra},
    )


def pay(client: Client, order: Order, outcome: str = "pay"):
    return client.post(
        reverse("shop:test_pay", kwargs={"order": order.public_id}), {"outcome": outcome}
    )


def library_url_from_last_email() -> str:
    body = mail.outbox[-1].body
    match = re.search(r"http://testserver(/library/[^\s]+/)", body)
    assert match, body
    return match.group(1)
