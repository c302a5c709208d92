"""Refunds and disputes made in Stripe whose webhooks were lost: reconcile finds and applies them."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from delivery.models import Entitlement
from shop.models import Order, PaymentEvent, Refund
from tests.factories import ProductFactory, add_file
from tests.helpers import start_checkout
from tests.stripe_fake import event, fixture

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid(client, db, stripe_fake, deliver):
    product = ProductFactory(price=1000)
    add_file(product)
    start_checkout(client, product)
    order = Order.objects.get()
    session = stripe_fake.complete(order.provider_session_id)
    assert deliver(event("checkout.session.completed", session)).content == b"fulfilled"
    order.refresh_from_db()
    return order, session


def _reconcile(*args: str) -> str:
    out = StringIO()
    call_command("payments_reconcile", *args, stdout=out)
    return out.getvalue()


def test_a_refund_whose_webhook_was_lost_is_recorded_and_revokes(paid, stripe_fake):
    order, session = paid
    refunded = event(
        "charge.refunded",
        stripe_fake.charge_for(session["id"], amount_refunded=1000, refunded=True),
    )
    stripe_fake.events.append(refunded)
    report = _reconcile("--dry-run")
    assert f"LOST EVENT {refunded['id']} (charge.refunded)" in report
    order.refresh_from_db()
    assert order.status == Order.Status.PAID  # a dry run changes nothing

    report = _reconcile()
    assert "-> refund recorded" in report and "1 problem found, 1 fixed" in report
    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED and order.refunded_amount == 1000
    assert order.items.get().entitlement.status == Entitlement.Status.REVOKED
    assert PaymentEvent.objects.filter(event_id=refunded["id"]).exists()
    # Asked for the types that revoke, in the window asked for.
    [params] = stripe_fake.called("GET", "/v1/events")[-1:]
    assert set(params["types"]) == {"charge.refunded", "charge.dispute.created"}
    assert int(params["created"]["gte"]) > 0
    # Once is enough: the next run finds nothing, and the webhook arriving late is a duplicate.
    assert "0 problems found" in _reconcile()
    assert Refund.objects.count() == 1


def test_a_lost_dispute_revokes_and_flags(paid, stripe_fake):
    order, session = paid
    dispute = fixture(
        "dispute",
        id="dp_lost_1",
        charge=stripe_fake.charges[session["payment_intent"]],
        payment_intent=session["payment_intent"],
        amount=1000,
        currency="eur",
    )
    stripe_fake.events.append(event("charge.dispute.created", dispute))
    assert "-> dispute recorded" in _reconcile()
    order.refresh_from_db()
    assert order.status == Order.Status.DISPUTED and order.flagged
    assert order.items.get().entitlement.status == Entitlement.Status.REVOKED


def test_events_whose_webhooks_arrived_are_not_reported(paid, stripe_fake, deliver):
    order, session = paid
    refunded = event("charge.refunded", stripe_fake.charge_for(session["id"], amount_refunded=300))
    assert deliver(refunded).content == b"refund recorded"
    stripe_fake.events.append(refunded)
    assert "0 problems found" in _reconcile()
    order.refresh_from_db()
    assert order.refunded_amount == 300


def test_a_stripe_error_while_listing_events_is_a_clear_message(paid, stripe_fake):
    from django.core.management.base import CommandError

    stripe_fake.fail["/v1/events"] = (500, "Stripe is down")
    with pytest.raises(CommandError, match="Could not list Stripe events"):
        _reconcile()
