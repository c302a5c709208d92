"""A signed event proves who sent it, not that it fits the order: nothing is granted on its word.

Every event starts from Stripe's own example objects (``tests/stripe_fake.py``),
altered only in the field the test is about.
"""

from __future__ import annotations

import json
import logging
from io import StringIO

import pytest
from django.core.management import call_command

from delivery.models import Entitlement
from shop.models import LedgerEntry, Order, PaymentEvent, Refund
from tests.factories import ProductFactory, add_file
from tests.helpers import start_checkout
from tests.stripe_fake import event, fixture

pytestmark = pytest.mark.django_db


@pytest.fixture
def pending(client, db, stripe_fake):
    """An order for one €7 product, paid on Stripe's page; no event has arrived yet."""
    product = ProductFactory(title="Night Trains", price=700)
    add_file(product)
    start_checkout(client, product)
    order = Order.objects.get()
    session = stripe_fake.complete(order.provider_session_id)
    return order, session


@pytest.fixture
def paid(pending, deliver):
    order, session = pending
    assert deliver(event("checkout.session.completed", session)).content == b"fulfilled"
    order.refresh_from_db()
    return order, session


def _untouched(order: Order) -> Order:
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING and order.paid_at is None
    assert not Entitlement.objects.exists()
    assert not LedgerEntry.objects.exists()
    return order


# --- checkout.session.completed and its siblings ------------------------------------------


def test_a_completed_session_without_an_amount_is_flagged_and_grants_nothing(pending, deliver):
    order, session = pending
    session["amount_total"] = None
    response = deliver(event("checkout.session.completed", session))
    assert response.status_code == 200 and response.content == b"amount mismatch"
    order = _untouched(order)
    assert order.flagged
    assert (
        order.flag_reason == "Stripe's session says no amount in EUR; the order is for €7.00 EUR."
    )


def test_a_session_paid_in_another_currency_with_the_same_number_is_flagged(pending, deliver):
    order, session = pending
    session["currency"] = "jpy"  # ¥700 is about €4: the same number is not the same price
    response = deliver(event("checkout.session.completed", session))
    assert response.content == b"amount mismatch"
    order = _untouched(order)
    assert order.flagged and "¥700 JPY" in order.flag_reason and "€7.00 EUR" in order.flag_reason


def test_a_session_without_a_currency_is_flagged(pending, deliver):
    order, session = pending
    session["currency"] = None
    assert deliver(event("checkout.session.completed", session)).content == b"amount mismatch"
    assert _untouched(order).flagged


@pytest.mark.parametrize("amount", [700.0, "700", True, -700])
def test_an_amount_that_is_not_a_whole_number_of_cents_is_not_the_amount(pending, deliver, amount):
    order, session = pending
    session["amount_total"] = amount
    assert deliver(event("checkout.session.completed", session)).content == b"amount mismatch"
    assert _untouched(order).flagged


def test_an_async_payment_in_another_currency_is_flagged(client, db, stripe_fake, deliver):
    product = ProductFactory(price=500)
    start_checkout(client, product)
    order = Order.objects.get()
    session = stripe_fake.complete(order.provider_session_id, paid=False)
    assert deliver(event("checkout.session.completed", session)).content == b"not paid yet"
    session.update(payment_status="paid", currency="usd")
    outcome = deliver(event("checkout.session.async_payment_succeeded", session))
    assert outcome.content == b"amount mismatch"
    assert _untouched(order).flagged


def test_the_return_page_does_not_fulfil_a_session_without_an_amount(client, pending, stripe_fake):
    order, session = pending
    stripe_fake.sessions[session["id"]]["amount_total"] = None
    response = client.get(f"/checkout/return/?session_id={session['id']}")
    assert response.status_code == 302 and response["Location"] == order.get_absolute_url()
    assert _untouched(order).flagged


def test_reconcile_flags_a_paid_session_in_another_currency_instead_of_fulfilling(
    pending, stripe_fake
):
    order, session = pending
    stripe_fake.sessions[session["id"]]["currency"] = "jpy"
    out = StringIO()
    call_command("payments_reconcile", stdout=out)
    assert "-> amount mismatch" in out.getvalue()
    assert "1 problem found, 0 fixed" in out.getvalue()
    assert _untouched(order).flagged


def test_a_matching_session_still_fulfils(pending, deliver):
    order, session = pending
    assert deliver(event("checkout.session.completed", session)).content == b"fulfilled"
    order.refresh_from_db()
    assert order.status == Order.Status.PAID and not order.flagged


def test_the_admin_lists_why_an_order_is_flagged(client, pending, deliver, admin_user):
    _, session = pending
    session["currency"] = "jpy"
    deliver(event("checkout.session.completed", session))
    client.force_login(admin_user)
    page = client.get("/admin/shop/order/?flagged__exact=1").content.decode()
    assert "¥700 JPY" in page


# --- events that cannot be read -----------------------------------------------------------


def test_a_signed_event_without_its_object_is_400_recorded_and_its_retry_a_duplicate(
    pending, deliver, caplog
):
    order, session = pending
    completed = event("checkout.session.completed", session)
    del completed["data"]["object"]
    with caplog.at_level(logging.WARNING, logger="shop.payments.webhooks"):
        first = deliver(completed)
    assert first.status_code == 400
    assert first.content == b"malformed event: The event has no data.object."
    recorded = PaymentEvent.objects.get(event_id=completed["id"])
    assert recorded.type == "checkout.session.completed"
    assert completed["id"] in caplog.text and "no data.object" in caplog.text
    again = deliver(completed)
    assert again.status_code == 200 and again.content == b"duplicate"
    assert PaymentEvent.objects.count() == 1
    _untouched(order)


def test_a_signed_session_without_an_id_is_400_and_recorded(pending, deliver):
    order, session = pending
    completed = event("checkout.session.completed", session)
    del completed["data"]["object"]["id"]
    response = deliver(completed)
    assert response.status_code == 400
    assert b"without an id" in response.content
    assert PaymentEvent.objects.filter(event_id=completed["id"]).exists()
    _untouched(order)


def test_a_signed_object_that_is_not_an_object_is_400(pending, deliver):
    order, _ = pending
    completed = event("checkout.session.completed", {})
    completed["data"]["object"] = "cs_test_1"
    assert deliver(completed).status_code == 400
    assert PaymentEvent.objects.filter(event_id=completed["id"]).exists()
    _untouched(order)


def test_a_signed_event_without_an_id_is_400_and_changes_nothing(pending, deliver):
    order, session = pending
    completed = event("checkout.session.completed", session)
    del completed["id"]
    response = deliver(completed)
    assert response.status_code == 400 and b"no id" in response.content
    assert not PaymentEvent.objects.exists()
    _untouched(order)


def test_a_signed_payload_that_is_a_list_is_400(db, stripe_fake, deliver):
    response = deliver({}, raw=json.dumps([1, 2]))
    assert response.status_code == 400
    assert not PaymentEvent.objects.exists()


# --- refunds ------------------------------------------------------------------------------


def test_a_refund_in_another_currency_is_flagged_and_revokes_nothing(paid, stripe_fake, deliver):
    order, session = paid
    charge = stripe_fake.charge_for(session["id"], amount_refunded=700, currency="jpy")
    response = deliver(event("charge.refunded", charge))
    assert response.content == b"refund does not fit the order"
    order.refresh_from_db()
    assert order.status == Order.Status.PAID and order.refunded_amount == 0
    assert order.flagged and "JPY" in order.flag_reason
    assert order.items.get().entitlement.is_active
    assert not Refund.objects.exists()


def test_a_refund_larger_than_its_charge_is_flagged(paid, stripe_fake, deliver):
    order, session = paid
    charge = stripe_fake.charge_for(session["id"], amount_refunded=9000)
    assert deliver(event("charge.refunded", charge)).content == b"refund does not fit the order"
    order.refresh_from_db()
    assert order.refunded_amount == 0 and order.flagged
    assert "€90.00 EUR was refunded of €7.00 EUR" in order.flag_reason


def test_a_refund_without_a_refunded_amount_is_flagged(paid, stripe_fake, deliver):
    order, session = paid
    charge = stripe_fake.charge_for(session["id"], amount_refunded=None)
    assert deliver(event("charge.refunded", charge)).content == b"refund does not fit the order"
    order.refresh_from_db()
    assert order.refunded_amount == 0 and order.flagged


def test_a_refund_overtaking_the_payment_with_another_amount_does_not_fulfil(
    pending, stripe_fake, deliver
):
    order, session = pending
    charge = stripe_fake.charge_for(session["id"], amount=100, amount_refunded=100)
    assert deliver(event("charge.refunded", charge)).content == b"refund does not fit the order"
    assert _untouched(order).flagged


def test_a_charge_without_ids_never_matches_an_order_without_a_charge(
    pending, stripe_fake, deliver
):
    order, session = pending
    charge = stripe_fake.charge_for(session["id"], amount_refunded=700)
    charge.update(id=None, payment_intent=None)
    assert deliver(event("charge.refunded", charge)).content == b"unknown order"
    assert not _untouched(order).flagged


# --- disputes -----------------------------------------------------------------------------


def _dispute(stripe_fake, session, **changes):
    fields = {
        "id": "dp_test_1",
        "charge": stripe_fake.charges[session["payment_intent"]],
        "payment_intent": session["payment_intent"],
        "amount": 700,
        "currency": "eur",
    }
    return fixture("dispute", **{**fields, **changes})


def test_a_dispute_without_a_charge_touches_no_order(pending, stripe_fake, deliver):
    order, session = pending
    dispute = _dispute(stripe_fake, session, charge=None, payment_intent=None)
    response = deliver(event("charge.dispute.created", dispute))
    assert response.status_code == 200
    assert response.content == b"ignored: dispute without a charge"
    order = _untouched(order)
    assert not order.flagged and order.status == Order.Status.PENDING


def test_a_dispute_in_another_currency_overtaking_the_payment_does_not_fulfil(
    pending, stripe_fake, deliver
):
    order, session = pending
    dispute = _dispute(stripe_fake, session, currency="jpy")
    response = deliver(event("charge.dispute.created", dispute))
    assert response.content == b"dispute does not fit the order"
    order = _untouched(order)
    assert order.flagged and "dp_test_1" in order.flag_reason and "JPY" in order.flag_reason


def test_a_dispute_that_does_not_fit_a_paid_order_still_revokes_and_says_why(
    paid, stripe_fake, deliver
):
    order, session = paid
    dispute = _dispute(stripe_fake, session, amount=5000)
    assert deliver(event("charge.dispute.created", dispute)).content == b"dispute recorded"
    order.refresh_from_db()
    assert order.status == Order.Status.DISPUTED and order.flagged
    assert "€50.00" in order.flag_reason
    assert order.items.get().entitlement.status == Entitlement.Status.REVOKED


def test_a_dispute_overtaking_the_payment_that_fits_settles_then_revokes(
    pending, stripe_fake, deliver
):
    order, session = pending
    assert deliver(event("charge.dispute.created", _dispute(stripe_fake, session))).content == (
        b"dispute recorded"
    )
    order.refresh_from_db()
    assert order.status == Order.Status.DISPUTED and order.paid_at is not None
    assert order.items.get().entitlement.status == Entitlement.Status.REVOKED
