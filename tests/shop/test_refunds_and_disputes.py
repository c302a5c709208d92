"""Refunds and disputes: full refunds revoke, partial ones keep access; events in any order."""

from __future__ import annotations

import threading

import pytest
from django.db import close_old_connections, connection

from delivery.models import Entitlement
from shop.models import LedgerEntry, Order, PaymentEvent, Refund
from shop.services import RefundError, order_item_refund
from tests.factories import ProductFactory, SellerFactory, UserFactory, add_file
from tests.helpers import pay, start_checkout
from tests.stripe_fake import event, post_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid(client, db, stripe_fake, deliver):
    """A paid Stripe order for one €10 product, with its session."""
    product = ProductFactory(price=1000)
    add_file(product)
    start_checkout(client, product)
    order = Order.objects.get()
    session = stripe_fake.complete(order.provider_session_id)
    assert deliver(event("checkout.session.completed", session)).content == b"fulfilled"
    order.refresh_from_db()
    return order, session


def test_a_full_refund_from_stripe_revokes_access(paid, stripe_fake, deliver):
    order, session = paid
    charge = stripe_fake.charge_for(session["id"], amount_refunded=1000, refunded=True)
    response = deliver(event("charge.refunded", charge))
    order.refresh_from_db()
    assert response.content == b"refund recorded"
    assert order.status == Order.Status.REFUNDED and order.refunded_amount == 1000
    entitlement = order.items.get().entitlement
    assert entitlement.status == Entitlement.Status.REVOKED
    assert entitlement.revoked_reason == "Refunded."


def test_a_partial_refund_keeps_access(paid, stripe_fake, deliver):
    order, session = paid
    deliver(event("charge.refunded", stripe_fake.charge_for(session["id"], amount_refunded=300)))
    order.refresh_from_db()
    assert order.status == Order.Status.PARTIALLY_REFUNDED and order.refunded_amount == 300
    assert order.items.get().entitlement.is_active
    # Stripe sends the cumulative total: a second partial refund adds only the difference.
    deliver(event("charge.refunded", stripe_fake.charge_for(session["id"], amount_refunded=500)))
    order.refresh_from_db()
    assert order.refunded_amount == 500
    assert list(Refund.objects.values_list("amount", flat=True).order_by("pk")) == [300, 200]


def test_a_dispute_revokes_and_flags_the_order(paid, stripe_fake, deliver):
    order, session = paid
    from tests.stripe_fake import fixture

    dispute = fixture(
        "dispute",
        id="dp_test_1",
        charge=stripe_fake.charges[session["payment_intent"]],
        payment_intent=session["payment_intent"],
        amount=1000,
        currency="eur",
    )
    assert deliver(event("charge.dispute.created", dispute)).content == b"dispute recorded"
    order.refresh_from_db()
    assert order.status == Order.Status.DISPUTED and order.flagged
    assert order.flag_reason == "Dispute dp_test_1: general"
    assert order.items.get().entitlement.status == Entitlement.Status.REVOKED


def test_a_refund_that_overtakes_the_payment_event_still_settles(client, db, stripe_fake, deliver):
    product = ProductFactory(price=1000)
    add_file(product)
    start_checkout(client, product)
    order = Order.objects.get()
    session = stripe_fake.complete(order.provider_session_id)
    # charge.refunded arrives first; session.completed later.
    deliver(event("charge.refunded", stripe_fake.charge_for(session["id"], amount_refunded=1000)))
    assert deliver(event("checkout.session.completed", session)).status_code == 200
    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED
    assert order.items.get().entitlement.status == Entitlement.Status.REVOKED
    assert Entitlement.objects.count() == 1


def test_the_seller_refunds_part_of_a_sale_through_stripe(paid, stripe_fake, deliver):
    order, session = paid
    item = order.items.get()
    refund = order_item_refund(item_id=item.pk, amount=400, reason="Wrong format")
    [params] = stripe_fake.called("POST", "/v1/refunds")
    assert params["payment_intent"] == session["payment_intent"] and params["amount"] == "400"
    assert refund.provider_refund_id.startswith("re_test_")
    # Stripe's webhook about that same refund adds nothing.
    charge = stripe_fake.charge_for(
        session["id"], amount_refunded=400, refunds={"data": [{"id": refund.provider_refund_id}]}
    )
    deliver(event("charge.refunded", charge))
    order.refresh_from_db()
    assert order.refunded_amount == 400 and Refund.objects.count() == 1
    assert item.entitlement.is_active


def test_refunding_more_than_was_paid_is_refused(paid, stripe_fake):
    order, _ = paid
    item = order.items.get()
    order_item_refund(item_id=item.pk, amount=900)
    with pytest.raises(RefundError, match=r"At most €1\.00"):
        order_item_refund(item_id=item.pk, amount=200)
    with pytest.raises(RefundError, match="above zero"):
        order_item_refund(item_id=item.pk, amount=0)
    assert stripe_fake.called("POST", "/v1/refunds").__len__() == 1


def test_refund_ledger_debits_the_seller_share(paid, stripe_fake, settings):
    order, _ = paid
    item = order.items.get()
    share = item.unit_price - item.platform_fee
    order_item_refund(item_id=item.pk, amount=item.unit_price)
    entries = {e.kind: e.amount for e in LedgerEntry.objects.filter(item=item)}
    assert entries == {"sale": share, "refund": -share}
    assert item.entitlement.status == Entitlement.Status.REVOKED


def test_a_seller_refunds_from_their_sales_page(client, db, django_user_model):
    seller = SellerFactory()
    product = ProductFactory(seller=seller, price=1000)
    add_file(product)
    start_checkout(client, product)
    order = Order.objects.get()
    pay(client, order)
    item = order.items.get()
    client.force_login(seller.user)
    page = client.get("/sell/sales/")
    assert product.title in page.content.decode()
    bad = client.post(f"/sell/sales/{item.pk}/refund/", {"amount": "20"})
    assert bad.status_code == 400 and "At most €10.00" in bad.content.decode()
    done = client.post(f"/sell/sales/{item.pk}/refund/", {"amount": "10", "reason": "Asked nicely"})
    assert done.status_code == 302
    item.refresh_from_db()
    assert item.refunded_amount == 1000
    assert item.entitlement.revoked_reason == "Asked nicely"


def test_a_seller_cannot_see_or_refund_another_sellers_sale(client, db):
    product = ProductFactory(price=1000)
    add_file(product)
    start_checkout(client, product)
    order = Order.objects.get()
    pay(client, order)
    item = order.items.get()
    other = SellerFactory()
    client.force_login(other.user)
    assert product.title not in client.get("/sell/sales/").content.decode()
    assert client.get(f"/sell/sales/{item.pk}/refund/").status_code == 404
    assert client.post(f"/sell/sales/{item.pk}/refund/", {"amount": "10"}).status_code == 404
    client.force_login(UserFactory())  # not a seller at all: offered to open a shop
    response = client.get("/sell/sales/")
    assert response.status_code == 302 and response["Location"] == "/sell/start/"
    client.logout()
    assert client.get("/sell/sales/").status_code == 302
    item.refresh_from_db()
    assert item.refunded_amount == 0


@pytest.mark.django_db(transaction=True)
def test_two_deliveries_at_once_fulfil_exactly_once(client, stripe_fake, deliver, settings):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent transactions need PostgreSQL (SQLite serialises writers)")
    product = ProductFactory(price=1000)
    add_file(product)
    start_checkout(client, product)
    order = Order.objects.get()
    session = stripe_fake.complete(order.provider_session_id)
    completed = event("checkout.session.completed", session)
    succeeded = event("checkout.session.async_payment_succeeded", session)
    barrier = threading.Barrier(4)
    outcomes: list[bytes] = []

    def send(evt):
        from django.test import Client

        barrier.wait()
        try:
            outcomes.append(post_event(Client(), evt).content)
        finally:
            close_old_connections()

    threads = [
        threading.Thread(target=send, args=(e,))
        for e in (completed, completed, succeeded, succeeded)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    order.refresh_from_db()
    assert sorted(outcomes) == [b"duplicate", b"duplicate", b"fulfilled", b"fulfilled"]
    assert order.status == Order.Status.PAID
    assert Entitlement.objects.count() == 1
    assert PaymentEvent.objects.count() == 2
    assert LedgerEntry.objects.filter(kind="sale").count() == 1
