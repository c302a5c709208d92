"""Small helpers shared by the tests: walking checkout and reading links out of emails."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable

from django.core import mail
from django.db import connections
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


def emails_to(address: str) -> list[mail.EmailMessage]:
    return [message for message in mail.outbox if address in message.to]


def library_url_from_last_email() -> str:
    """The library link of the newest email that carries one."""
    for message in reversed(mail.outbox):
        match = re.search(r"http://testserver(/library/[^\s]+/)", message.body)
        if match:
            return match.group(1)
    raise AssertionError("no email carries a library link")


def at_once(*calls: Callable[[], object]) -> list[BaseException]:
    """Run ``calls`` in threads that start together; what they raised. Each thread
    closes its own database connection when it is done."""
    barrier = threading.Barrier(len(calls))
    errors: list[BaseException] = []

    def run(call: Callable[[], object]) -> None:
        barrier.wait()
        try:
            call()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return errors
