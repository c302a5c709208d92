"""What paying writes, once each, without a look for an earlier copy (decision 95)."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection

from catalog.outbox.models import OutboxTask
from delivery.models import Entitlement, Library
from shop.models import Invoice, LedgerEntry, Order
from shop.services import OrderLine, order_create, order_fulfil
from tests.factories import ProductFactory
from tests.helpers import at_once

pytestmark = pytest.mark.django_db


def _pending(products, *, email: str = "fan@example.com", key: str = "a") -> Order:
    return order_create(
        lines=[OrderLine(p) for p in products],
        email=email,
        checkout_key=key * 16,
        provider="test",
    )


def test_an_order_of_two_sellers_is_granted_credited_and_promised_once():
    first, second = ProductFactory(price=900), ProductFactory(price=400)
    order = _pending([first, second])
    order_fulfil(order_id=order.pk, payment_id="test_1")
    order_fulfil(order_id=order.pk, payment_id="test_1")  # paid already: nothing more
    items = list(order.items.select_related("entitlement__library").order_by("pk"))
    assert [i.entitlement.product_id for i in items] == [first.pk, second.pk]  # type: ignore[union-attr]
    assert {i.entitlement.library.email for i in items} == {"fan@example.com"}  # type: ignore[union-attr]
    assert Entitlement.objects.count() == 2 and Library.objects.count() == 1
    assert sorted(LedgerEntry.objects.values_list("item_id", "amount")) == sorted(
        (i.pk, i.seller_share) for i in items
    )
    assert Invoice.objects.filter(order=order).count() == 1
    assert sorted(OutboxTask.objects.values_list("key", flat=True)) == sorted(
        [
            f"order:{order.pk}:receipt",
            f"order:{order.pk}:sale-notice:{first.seller_id}",
            f"order:{order.pk}:sale-notice:{second.seller_id}",
        ]
    )


def test_a_buyer_known_by_another_spelling_keeps_one_library():
    Library.objects.create(email="Fan@Example.com")
    order = _pending([ProductFactory()], email="fan@example.com")
    order_fulfil(order_id=order.pk, payment_id="test_1")
    assert Library.objects.get().entitlements.count() == 1


def test_a_promise_of_the_order_found_before_it_was_paid_undoes_the_payment():
    # Nothing writes it before: if something ever did, the payment says so loudly.
    order = _pending([ProductFactory(price=500)])
    OutboxTask.objects.create(key=f"order:{order.pk}:receipt", task_path="x")
    with pytest.raises(IntegrityError):
        order_fulfil(order_id=order.pk, payment_id="test_1")
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING
    assert not Invoice.objects.exists() and not Entitlement.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_one_new_buyer_paying_two_orders_at_once_gets_one_library():
    if connection.vendor != "postgresql":
        pytest.skip("concurrent transactions need PostgreSQL (SQLite serialises writers)")
    orders = [_pending([ProductFactory()], email="new@example.com", key=k) for k in "bc"]
    pays = [lambda pk=o.pk: order_fulfil(order_id=pk, payment_id=f"test_{pk}") for o in orders]
    assert at_once(*pays) == []
    assert set(Order.objects.values_list("status", flat=True)) == {Order.Status.PAID}
    assert Library.objects.get(email="new@example.com").entitlements.count() == 2
