"""What a whole test-mode checkout costs in SQL statements (issue 11, decisions 95 and 96).

The five requests of ``bench/pages.py``'s ``checkouts()``: the product page, the
order, the test provider's pay page, the payment and the receipt. Counted is
every statement Django sends on the connection, as ``connection.queries``
lists them: SELECT, INSERT, UPDATE, DELETE, SAVEPOINT / RELEASE, and the
BEGIN / COMMIT of the atomic blocks. The test runs outside a test transaction
(``transaction=True``), so each atomic block is a real transaction as in
production, and ``on_commit`` work runs when it would there: the immediate
task backend (the default, and the benchmark's) sends the receipt and the
seller's notice inside the pay request, so those mails are counted too. The
product page is opened by a browser, so its view is recorded (a script's
user agent is a bot and is not).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.core import mail
from django.db import connection
from django.http import HttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from catalog.models import Product, Tag
from catalog.outbox.models import OutboxTask
from delivery.models import Entitlement
from shop.models import Invoice, InvoiceCounter, Order
from shop.stats.models import ProductView
from tests.factories import ProductFactory, add_file, pdf_bytes

# Issue 11's goal for the five requests together: not reached (decision 96).
GOAL = 20
# What each request makes today; a change that adds a statement fails here.
REACHED = {"product page": 4, "order": 6, "pay page": 2, "pay": 23, "receipt": 4}
BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"

Steps = list[tuple[str, int, list[str]]]


def _checkout(client: Client, product: Product) -> Steps:
    """Run the five requests; each one's name, status and statements."""
    steps: Steps = []

    def step(name: str, call: Callable[[], HttpResponse]) -> HttpResponse:
        with CaptureQueriesContext(connection) as queries:
            response = call()
        steps.append((name, response.status_code, [q["sql"] for q in queries.captured_queries]))
        return response

    step("product page", lambda: client.get(product.get_absolute_url()))
    order = step(
        "order",
        lambda: client.post(
            reverse("shop:checkout", args=[product.pk]),
            {"email": "fan@example.com", "checkout_key": "q" * 32},
        ),
    )
    assert order.status_code == 302, order.content
    pay_page = order["Location"]
    step("pay page", lambda: client.get(pay_page))
    paid = step("pay", lambda: client.post(pay_page, {"outcome": "pay"}))
    assert paid.status_code == 302, paid.content
    step("receipt", lambda: client.get(paid["Location"]))
    return steps


def _total(steps: Steps) -> int:
    return sum(len(statements) for _, _, statements in steps)


def _report(steps: Steps) -> str:
    lines = [f"{_total(steps)} statements:"]
    lines += [f"  {name} ({status}): {len(statements)}" for name, status, statements in steps]
    for name, _status, statements in steps:
        lines.append(f"-- {name}")
        lines += [f"   {sql[:160]}" for sql in statements]
    return "\n".join(lines)


@pytest.fixture
def bought(transactional_db: None) -> tuple[Product, Steps]:
    """A buyer's whole checkout of a product with tags and a file, and its statements."""
    # Made by a migration; an earlier test of this worker outside a transaction flushed it.
    InvoiceCounter.objects.get_or_create(scope="shop")
    product = ProductFactory(title="Field Notes", price=1250)
    product.tags.set([Tag.objects.create(slug="notes"), Tag.objects.create(slug="paper")])
    add_file(product, pdf_bytes(b"notes"), "notes.pdf")
    steps = _checkout(Client(HTTP_USER_AGENT=BROWSER), product)
    report = _report(steps)
    # Counted for the right reason: everything a checkout does was done.
    assert all(status < 400 for _, status, _ in steps), report
    assert ProductView.objects.filter(product=product).count() == 1, report
    order = Order.objects.get()
    assert order.status == Order.Status.PAID, report
    assert Entitlement.objects.get(library__email="fan@example.com", product=product).is_active
    assert order.items.get().entitlement_id is not None, report
    assert Invoice.objects.get(order=order).number.endswith("000001"), report
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        ["fan@example.com", product.seller.user.email]
    ), report
    assert set(OutboxTask.objects.values_list("status", flat=True)) == {"done"}, report
    return product, steps


def test_a_whole_checkout_makes_no_more_statements_than_it_does_today(bought):
    _product, steps = bought
    made = {name: len(statements) for name, _status, statements in steps}
    assert all(made[name] <= REACHED[name] for name in REACHED), _report(steps)
    assert _total(steps) <= sum(REACHED.values()), _report(steps)


@pytest.mark.xfail(strict=True, reason="39 statements: what remains is listed in decision 96")
def test_a_whole_checkout_makes_at_most_twenty_statements(bought):
    _product, steps = bought
    assert _total(steps) <= GOAL, _report(steps)
