"""Events come from the real flows, once, and never from a change that was rolled back."""

from __future__ import annotations

import json

import pytest
from django.db import transaction

from catalog.follows.services import confirm_token, follow_confirm, follow_request
from shop.models import Order
from shop.services import order_dispute, order_fulfil, order_item_refund
from shop.webhooks_out.models import Event
from tests.factories import ProductFactory, add_file
from tests.helpers import pay, start_checkout
from tests.webhooks_out.conftest import hooked

pytestmark = pytest.mark.django_db

EVENTS = ["sale.created", "refund.created", "dispute.created", "follower.created"]


def _bodies(receiver, type_: str) -> list[dict]:
    found = [json.loads(r.body) for r in receiver.received]
    return [body for body in found if body["type"] == type_]


def _paid_order(client, receiver, capture, price=1250):
    hook = hooked(receiver.url, events=EVENTS)
    product = ProductFactory(seller=hook.seller, price=price, title="Field Notes")
    add_file(product, b"%PDF-1.4 secret bytes", "notes.pdf")
    start_checkout(client, product, email="fan@example.com")
    order = Order.objects.get()
    with capture(execute=True):
        pay(client, order)
    order.refresh_from_db()
    return hook, product, order


def test_a_paid_order_sends_sale_created_once(client, receiver, django_capture_on_commit_callbacks):
    _hook, product, order = _paid_order(client, receiver, django_capture_on_commit_callbacks)
    assert order.status == Order.Status.PAID
    [sale] = _bodies(receiver, "sale.created")
    assert sale["id"].startswith("evt_")
    data = sale["data"]
    assert data["order"] == str(order.public_id) and data["currency"] == "EUR"
    assert data["total_paid"] == 1250 and isinstance(data["total_paid"], int)
    assert data["items"][0]["product_id"] == product.pk
    assert data["seller_share"] == 1250 - data["items"][0]["platform_fee"]
    assert data["buyer_email"] == "fan@example.com"
    text = json.dumps(sale)
    assert "/library/" not in text and "/download" not in text and "notes.pdf" not in text
    # Paying again (a second webhook, the success page) sends nothing more.
    with django_capture_on_commit_callbacks(execute=True):
        order_fulfil(order_id=order.pk, payment_id=None)
    assert len(_bodies(receiver, "sale.created")) == 1
    assert Event.objects.filter(type="sale.created").count() == 1


def test_a_rolled_back_payment_sends_nothing(receiver, django_capture_on_commit_callbacks):
    hook = hooked(receiver.url)
    product = ProductFactory(seller=hook.seller)
    from shop.services import OrderLine, order_create

    order = order_create(
        lines=[OrderLine(product=product)],
        email="fan@example.com",
        provider="test",
        checkout_key="c" * 24,
    )
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        order_fulfil(order_id=order.pk, payment_id=None)
        assert Event.objects.count() == 1  # written with the change...
        raise RuntimeError("the payment's transaction fails")
    assert Event.objects.count() == 0  # ...and gone with it
    assert receiver.received == []


def test_a_seller_without_a_subscribed_endpoint_gets_no_event_rows(
    client, receiver, django_capture_on_commit_callbacks
):
    hook = hooked(receiver.url, events=["follower.created"])
    product = ProductFactory(seller=hook.seller)
    add_file(product, b"%PDF-1.4 x", "x.pdf")
    start_checkout(client, product)
    with django_capture_on_commit_callbacks(execute=True):
        pay(client, Order.objects.get())
    assert Event.objects.count() == 0 and receiver.received == []


def test_refunds_and_disputes_send_their_events(
    client, receiver, django_capture_on_commit_callbacks
):
    _hook, _product, order = _paid_order(client, receiver, django_capture_on_commit_callbacks)
    item = order.items.get()
    with django_capture_on_commit_callbacks(execute=True):
        refund = order_item_refund(item_id=item.pk, amount=500, reason="Asked nicely")
    [event] = _bodies(receiver, "refund.created")
    assert event["data"]["refund"] == refund.pk and event["data"]["currency"] == "EUR"
    assert 0 < event["data"]["seller_debit"] <= 500
    with django_capture_on_commit_callbacks(execute=True):
        order_dispute(order_id=order.pk, reason="Fraudulent")
        order_dispute(order_id=order.pk, reason="Fraudulent")
    [dispute] = _bodies(receiver, "dispute.created")
    assert dispute["data"]["order"] == str(order.public_id)


def test_a_confirmed_follower_sends_follower_created_without_the_address(
    receiver, django_capture_on_commit_callbacks
):
    hook = hooked(receiver.url, events=["follower.created"])
    follow = follow_request(seller=hook.seller, email="fan@example.com")
    assert follow is not None and receiver.received == []  # not confirmed yet
    with django_capture_on_commit_callbacks(execute=True):
        follow_confirm(token=confirm_token(follow))
        follow_confirm(token=confirm_token(follow))
    [event] = _bodies(receiver, "follower.created")
    assert event["data"] == {
        "follower_id": follow.pk,
        "followed_at": event["data"]["followed_at"],
        "followers": 1,
    }
    assert "fan@example.com" not in json.dumps(event)
