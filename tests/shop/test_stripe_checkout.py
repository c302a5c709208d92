"""Stripe Checkout: sessions built on the server, fulfilled by webhook or by the return page."""

from __future__ import annotations

import pytest
from django.core import mail

from catalog.models import Product
from delivery.models import Entitlement
from shop.models import Order, PaymentEvent
from tests.factories import ProductFactory, add_file
from tests.helpers import emails_to, start_checkout
from tests.stripe_fake import event, sign

pytestmark = pytest.mark.django_db


@pytest.fixture
def album(db) -> Product:
    product = ProductFactory(title="Night Trains", price=700, kind=Product.Kind.MUSIC)
    add_file(product)
    return product


def _session_for(order: Order, stripe_fake) -> str:
    order.refresh_from_db()
    assert order.provider_session_id in stripe_fake.sessions
    return order.provider_session_id


def test_checkout_creates_one_session_with_server_prices(client, album, stripe_fake):
    response = start_checkout(client, album, email="fan@example.com", price="1", unit_amount="1")
    order = Order.objects.get()
    [params] = stripe_fake.called("POST", "/v1/checkout/sessions")
    assert response.status_code == 302
    assert response["Location"] == stripe_fake.sessions[order.provider_session_id]["url"]
    assert params["customer_email"] == "fan@example.com"
    assert params["metadata"] == {"order": str(order.public_id)}
    assert params["mode"] == "payment"
    [line] = params["line_items"]
    assert line["price_data"]["unit_amount"] == "700"
    assert line["price_data"]["currency"] == "eur"
    assert line["price_data"]["product_data"]["name"] == "Night Trains"
    assert params["payment_intent_data"]["transfer_group"] == f"order_{order.public_id}"
    assert params["automatic_tax"]["enabled"] == "false"
    assert order.status == Order.Status.PENDING
    assert not Entitlement.objects.exists()


def test_the_api_version_is_pinned_on_every_request(client, album, stripe_fake):
    start_checkout(client, album)
    headers = stripe_fake.calls[0][3]
    assert headers["Stripe-Version"] == "2026-10-28.endive"
    assert headers["Idempotency-Key"].startswith("checkout-")


def test_automatic_tax_follows_the_setting(client, album, stripe_fake, settings):
    settings.STRIPE_AUTOMATIC_TAX = True
    start_checkout(client, album)
    [params] = stripe_fake.called("POST", "/v1/checkout/sessions")
    assert params["automatic_tax"]["enabled"] == "true"


def test_a_double_clicked_pay_button_reuses_the_session(client, album, stripe_fake):
    first = start_checkout(client, album)
    second = start_checkout(client, album)
    assert first["Location"] == second["Location"]
    assert Order.objects.count() == 1


def test_the_webhook_fulfils_the_order_once(
    client, album, stripe_fake, deliver, django_capture_on_commit_callbacks
):
    start_checkout(client, album, email="fan@example.com")
    order = Order.objects.get()
    session = stripe_fake.complete(_session_for(order, stripe_fake))
    completed = event("checkout.session.completed", session)
    with django_capture_on_commit_callbacks(execute=True):
        first = deliver(completed)
        again = deliver(completed)
    order.refresh_from_db()
    assert first.status_code == 200 and first.content == b"fulfilled"
    assert again.status_code == 200 and again.content == b"duplicate"
    assert order.status == Order.Status.PAID
    assert order.provider_payment_id == session["payment_intent"]
    assert order.provider_charge_id == stripe_fake.charges[session["payment_intent"]]
    assert Entitlement.objects.filter(status="active").count() == 1
    assert PaymentEvent.objects.filter(event_id=completed["id"]).count() == 1
    assert len(emails_to("fan@example.com")) == 1


def test_the_return_page_fulfils_without_waiting_for_the_webhook(
    client, album, stripe_fake, deliver
):
    start_checkout(client, album)
    order = Order.objects.get()
    session = stripe_fake.complete(_session_for(order, stripe_fake))
    response = client.get(f"/checkout/return/?session_id={session['id']}")
    order.refresh_from_db()
    assert response.status_code == 302 and response["Location"] == order.get_absolute_url()
    assert order.status == Order.Status.PAID
    # The webhook arriving afterwards changes nothing.
    deliver(event("checkout.session.completed", session))
    assert Entitlement.objects.count() == 1


def test_the_return_page_does_not_fulfil_an_unpaid_session(client, album, stripe_fake):
    start_checkout(client, album)
    order = Order.objects.get()
    stripe_fake.complete(_session_for(order, stripe_fake), paid=False)
    client.get(f"/checkout/return/?session_id={order.provider_session_id}")
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING
    assert not Entitlement.objects.exists()


@pytest.mark.parametrize("session_id", ["", "nope", "cs_test_unknown"])
def test_the_return_page_404s_for_a_session_it_did_not_create(client, db, stripe_fake, session_id):
    assert client.get(f"/checkout/return/?session_id={session_id}").status_code == 404


def test_a_forged_signature_is_400_and_changes_nothing(client, album, stripe_fake, deliver):
    start_checkout(client, album)
    order = Order.objects.get()
    session = stripe_fake.complete(_session_for(order, stripe_fake))
    completed = event("checkout.session.completed", session)
    import json

    payload = json.dumps(completed)
    forged = deliver(completed, signature=sign(payload, secret="whsec_attacker"))
    tampered = deliver(completed, raw=payload.replace("paid", "paid "), signature=sign(payload))
    missing = deliver(completed, signature="")
    assert forged.status_code == tampered.status_code == missing.status_code == 400
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING
    assert not PaymentEvent.objects.exists()


def test_a_stale_signature_is_400(client, album, stripe_fake, deliver):
    import json
    import time

    start_checkout(client, album)
    order = Order.objects.get()
    completed = event(
        "checkout.session.completed", stripe_fake.complete(_session_for(order, stripe_fake))
    )
    payload = json.dumps(completed)
    response = deliver(completed, signature=sign(payload, timestamp=int(time.time()) - 3600))
    assert response.status_code == 400
    assert not Entitlement.objects.exists()


def test_unknown_events_get_200_and_are_ignored(db, stripe_fake, deliver):
    from tests.stripe_fake import fixture

    response = deliver(event("customer.created", fixture("customer")))
    assert response.status_code == 200 and response.content == b"ignored"


def test_a_webhook_for_an_unknown_order_is_answered_and_ignored(db, stripe_fake, deliver):
    from tests.stripe_fake import fixture

    session = fixture(
        "checkout.session", payment_status="paid", status="complete", metadata={"order": "nope"}
    )
    response = deliver(event("checkout.session.completed", session))
    assert response.status_code == 200 and response.content == b"unknown order"
    assert not Order.objects.exists()


def test_an_amount_mismatch_flags_the_order_and_grants_nothing(client, album, stripe_fake, deliver):
    start_checkout(client, album)
    order = Order.objects.get()
    session = stripe_fake.complete(_session_for(order, stripe_fake))
    session["amount_total"] = 1
    response = deliver(event("checkout.session.completed", session))
    order.refresh_from_db()
    assert response.content == b"amount mismatch"
    assert order.status == Order.Status.PENDING and order.flagged
    assert not Entitlement.objects.exists()


def test_async_payments_succeed_or_fail_later(client, db, stripe_fake, deliver):
    first, second = ProductFactory(price=500), ProductFactory(price=600)
    start_checkout(client, first, key="a" * 24)
    start_checkout(client, second, key="b" * 24)
    ok, ko = Order.objects.order_by("pk")
    pending = stripe_fake.complete(_session_for(ok, stripe_fake), paid=False)
    assert deliver(event("checkout.session.completed", pending)).content == b"not paid yet"
    pending["payment_status"] = "paid"
    assert (
        deliver(event("checkout.session.async_payment_succeeded", pending)).content == b"fulfilled"
    )
    failing = stripe_fake.complete(_session_for(ko, stripe_fake), paid=False)
    assert deliver(event("checkout.session.async_payment_failed", failing)).content == b"failed"
    ok.refresh_from_db()
    ko.refresh_from_db()
    assert ok.status == Order.Status.PAID and ko.status == Order.Status.FAILED
    assert Entitlement.objects.count() == 1


def test_an_expired_session_closes_the_order(client, album, stripe_fake, deliver):
    start_checkout(client, album)
    order = Order.objects.get()
    session = stripe_fake.sessions[_session_for(order, stripe_fake)]
    session["status"] = "expired"
    assert deliver(event("checkout.session.expired", session)).content == b"expired"
    order.refresh_from_db()
    assert order.status == Order.Status.EXPIRED


def test_stripe_refusing_the_session_shows_a_clear_page_and_charges_nothing(
    client, album, stripe_fake
):
    stripe_fake.fail["/v1/checkout/sessions"] = (400, "Invalid currency")
    response = start_checkout(client, album)
    assert response.status_code == 502
    assert "Invalid currency" in response.content.decode()
    assert "Nothing was charged" in response.content.decode()
    order = Order.objects.get()
    assert order.status == Order.Status.PENDING and order.paid_at is None
    assert mail.outbox == []


def test_without_keys_stripe_checkout_is_refused_with_the_reason(client, album, settings):
    settings.PAYMENT_PROVIDER = "stripe"
    settings.STRIPE_SECRET_KEY = ""
    response = start_checkout(client, album)
    assert response.status_code == 503
    assert "STRIPE_SECRET_KEY" in response.content.decode()
    assert not Order.objects.exists()


def test_the_buyers_country_comes_from_the_paid_session(client, album, stripe_fake, deliver):
    start_checkout(client, album)
    order = Order.objects.get()
    session = stripe_fake.complete(_session_for(order, stripe_fake))
    session["customer_details"]["address"]["country"] = "FR"
    deliver(event("checkout.session.completed", session))
    order.refresh_from_db()
    assert order.country == "FR"
