"""The Stripe path: setup-mode Checkout, off-session charges, signed events, idempotency keys.

Every answer is one of Stripe's example objects (fixtures3.json) through
tests/stripe_fake.py; no call is made with a transaction open (the fixture checks).
"""

from __future__ import annotations

import copy
from datetime import timedelta

import pytest
from django.utils import timezone
from freezegun import freeze_time

from shop.funding.models import Campaign, Pledge
from shop.funding.settlement import funding_settle
from shop.models import Order, PaymentEvent
from tests.stripe_fake import event

pytestmark = pytest.mark.django_db


def start(client, campaign, tier, email="fan@example.com", amount=""):
    return client.post(
        campaign.get_absolute_url(),
        {"tier": tier.pk, "amount": amount, "email": email, "currency": "EUR"},
    )


def saved(client, stripe_fake, deliver, campaign, tier, email, *, card=None):
    """Pledge, save the card on Stripe's page, and let the signed webhook say so."""
    response = start(client, campaign, tier, email)
    assert response.status_code == 302
    pledge = Pledge.objects.get(email=email)
    session = stripe_fake.complete_setup(pledge.setup_session_id, payment_method=card)
    assert deliver(event("checkout.session.completed", session)).content == b"card saved"
    pledge.refresh_from_db()
    return pledge


def test_pledging_opens_a_setup_mode_checkout_for_a_new_customer(
    client, campaign, tiers, stripe_fake
):
    response = start(client, campaign, tiers["album"])
    pledge = Pledge.objects.get()
    [customer] = stripe_fake.called("POST", "/v1/customers")
    [params] = stripe_fake.called("POST", "/v1/checkout/sessions")
    assert customer["email"] == "fan@example.com"
    assert params["mode"] == "setup"
    assert pledge.customer_id.startswith("cus_") and params["customer"] == pledge.customer_id
    assert params["currency"] == "eur"
    assert params["metadata"] == {"pledge": str(pledge.public_id)}
    assert "charged €15.00 once" in params["custom_text"]["submit"]["message"]
    assert response["Location"] == stripe_fake.sessions[pledge.setup_session_id]["url"]
    assert pledge.status == Pledge.Status.PENDING  # counted only once the card is saved


def test_the_signed_setup_event_saves_the_card_once(client, campaign, tiers, stripe_fake, deliver):
    pledge = saved(client, stripe_fake, deliver, campaign, tiers["album"], "fan@example.com")
    assert pledge.status == Pledge.Status.ACTIVE and pledge.number == 1
    assert pledge.payment_method_id.startswith("pm_test_")
    session = stripe_fake.sessions[pledge.setup_session_id]
    replay = event("checkout.session.completed", session)
    assert deliver(replay).content == b"card saved"
    assert deliver(replay).content == b"duplicate"
    assert PaymentEvent.objects.count() == 2
    assert Pledge.objects.get().number == 1


def test_the_return_page_saves_the_card_before_the_webhook(client, campaign, tiers, stripe_fake):
    start(client, campaign, tiers["album"])
    pledge = Pledge.objects.get()
    stripe_fake.complete_setup(pledge.setup_session_id)
    response = client.get(f"/campaigns/card/return/?session_id={pledge.setup_session_id}")
    assert response.status_code == 302 and response["Location"].startswith("/pledges/")
    assert Pledge.objects.get().status == Pledge.Status.ACTIVE


def test_an_unsigned_setup_event_saves_nothing(client, campaign, tiers, stripe_fake, deliver):
    start(client, campaign, tiers["album"])
    pledge = Pledge.objects.get()
    session = stripe_fake.complete_setup(pledge.setup_session_id)
    response = deliver(event("checkout.session.completed", session), signature="t=1,v1=bad")
    assert response.status_code == 400
    assert Pledge.objects.get().status == Pledge.Status.PENDING


def test_settlement_charges_off_session_with_one_key_per_pledge(
    client, campaign, tiers, stripe_fake, deliver
):
    paying = saved(client, stripe_fake, deliver, campaign, tiers["credit"], "pays@example.com")
    auth = saved(
        client,
        stripe_fake,
        deliver,
        campaign,
        tiers["credit"],
        "auth@example.com",
        card="pm_card_auth",
    )
    declines = saved(
        client, stripe_fake, deliver, campaign, tiers["album"], "no@example.com", card="pm_card_no"
    )
    stripe_fake.card_errors = {
        "pm_card_auth": "authentication_required",
        "pm_card_no": "card_declined",
    }
    Campaign.objects.filter(pk=campaign.pk).update(deadline=timezone.now() - timedelta(seconds=1))
    report = funding_settle()
    assert (report.charged, report.recovering) == (1, 2)
    calls = stripe_fake.called("POST", "/v1/payment_intents")
    assert len(calls) == 3
    for params in calls:
        assert params["off_session"] == "true" and params["confirm"] == "true"
    keys = [h["Idempotency-Key"] for m, p, _, h in stripe_fake.calls if p == "/v1/payment_intents"]
    assert sorted(keys) == sorted(f"pledge-charge-{p.public_id}" for p in (paying, auth, declines))
    paying.refresh_from_db()
    order = paying.order
    assert order.status == Order.Status.PAID and order.provider == "stripe"
    assert order.provider_payment_id in stripe_fake.intents
    [first] = [c for c in calls if c["metadata"]["pledge"] == str(paying.public_id)]
    assert first["transfer_group"] == f"order_{order.public_id}"
    assert first["amount"] == "3000" and first["customer"] == paying.customer_id
    auth.refresh_from_db()
    assert auth.status == Pledge.Status.RECOVERING
    assert "requires authentication" in auth.failure_reason


def test_a_crash_after_stripe_charged_is_resumed_with_the_same_key(
    client, campaign, tiers, stripe_fake, deliver, monkeypatch
):
    for n in range(4):
        saved(client, stripe_fake, deliver, campaign, tiers["album"], f"fan{n}@example.com")
    Campaign.objects.filter(pk=campaign.pk).update(deadline=timezone.now() - timedelta(seconds=1))
    from shop.funding import settlement

    real_apply, applied = settlement.pledge_charge_apply, []

    def dies_on_the_third(**kwargs):
        # Stripe has charged the third card; the process dies before the answer is stored.
        if len(applied) == 2:
            raise SystemExit("killed")
        applied.append(1)
        return real_apply(**kwargs)

    monkeypatch.setattr(settlement, "pledge_charge_apply", dies_on_the_third)
    with pytest.raises(SystemExit):
        funding_settle()
    monkeypatch.setattr(settlement, "pledge_charge_apply", real_apply)
    assert len(stripe_fake.intents) == 3
    assert Pledge.objects.filter(status=Pledge.Status.CHARGING).count() == 1
    with freeze_time(timezone.now() + timedelta(minutes=11)):
        report = funding_settle()
    assert report.charged == 2
    # Four charges at Stripe, one per pledge: the retried one was answered from its key.
    assert len(stripe_fake.intents) == 4
    assert len(stripe_fake.called("POST", "/v1/payment_intents")) == 5
    assert Order.objects.filter(status=Order.Status.PAID).count() == 4
    paid = set(Order.objects.values_list("provider_payment_id", flat=True))
    assert paid == set(stripe_fake.intents)


def test_a_payment_intent_event_settles_a_pledge_still_being_charged(
    client, campaign, tiers, stripe_fake, deliver
):
    pledge = saved(client, stripe_fake, deliver, campaign, tiers["credit"], "fan@example.com")
    saved(client, stripe_fake, deliver, campaign, tiers["credit"], "two@example.com")
    Campaign.objects.filter(pk=campaign.pk).update(deadline=timezone.now() - timedelta(seconds=1))
    stripe_fake.fail["/v1/payment_intents"] = (500, "Stripe is having a moment")
    funding_settle()
    pledge.refresh_from_db()
    assert pledge.status == Pledge.Status.CHARGING
    del stripe_fake.fail["/v1/payment_intents"]
    from shop.payments import stripe_api

    # Stripe did take it (the key would replay it): its signed event arrives.
    result = stripe_api.payment_intent_off_session(
        amount=3000,
        currency="EUR",
        customer=pledge.customer_id,
        payment_method=pledge.payment_method_id,
        idempotency_key=f"pledge-charge-{pledge.public_id}",
        metadata={"pledge": str(pledge.public_id), "order": str(pledge.order.public_id)},
        transfer_group=f"order_{pledge.order.public_id}",
    )
    intent = stripe_fake.intents[result.payment_intent]
    assert deliver(event("payment_intent.succeeded", intent)).content == b"pledge charged"
    pledge.refresh_from_db()
    assert pledge.status == Pledge.Status.CHARGED
    assert pledge.order.provider_payment_id == result.payment_intent


def test_a_pledge_payment_event_with_the_wrong_amount_pays_nothing(
    client, campaign, tiers, stripe_fake, deliver
):
    pledge = saved(client, stripe_fake, deliver, campaign, tiers["credit"], "fan@example.com")
    saved(client, stripe_fake, deliver, campaign, tiers["credit"], "two@example.com")
    Campaign.objects.filter(pk=campaign.pk).update(deadline=timezone.now() - timedelta(seconds=1))
    stripe_fake.fail["/v1/payment_intents"] = (500, "down")
    funding_settle()
    pledge.refresh_from_db()
    from tests.stripe_fake import fixture

    forged = fixture(
        "payment_intent",
        id="pi_forged",
        amount=1,
        currency="eur",
        status="succeeded",
        metadata={"pledge": str(pledge.public_id)},
        latest_charge="ch_x",
    )
    deliver(event("payment_intent.succeeded", forged))
    pledge.refresh_from_db()
    assert pledge.status == Pledge.Status.CHARGING
    assert pledge.order.status == Order.Status.PENDING and pledge.order.flagged


def test_a_charge_unanswered_for_a_day_is_left_to_a_person(
    client, campaign, tiers, stripe_fake, deliver
):
    pledge = saved(client, stripe_fake, deliver, campaign, tiers["credit"], "fan@example.com")
    saved(client, stripe_fake, deliver, campaign, tiers["credit"], "two@example.com")
    Campaign.objects.filter(pk=campaign.pk).update(deadline=timezone.now() - timedelta(seconds=1))
    stripe_fake.fail["/v1/payment_intents"] = (500, "down")
    funding_settle()
    asked = len(stripe_fake.called("POST", "/v1/payment_intents"))
    del stripe_fake.fail["/v1/payment_intents"]
    with freeze_time(timezone.now() + timedelta(hours=25)):
        funding_settle()
    # Stripe may have forgotten the key by now: no new charge, a flag for staff instead.
    assert len(stripe_fake.called("POST", "/v1/payment_intents")) == asked
    pledge.refresh_from_db()
    assert pledge.status == Pledge.Status.CHARGING
    assert pledge.order.flagged and str(pledge.public_id) in pledge.order.flag_reason
    # The rest of the campaign goes on: it is funded, and its release is not held up.
    assert Campaign.objects.get().status == Campaign.Status.SUCCEEDED


def failed_charge(client, stripe_fake, deliver, campaign, tiers, code="authentication_required"):
    """Two backers (the goal met); the second card fails off session at the deadline."""
    saved(client, stripe_fake, deliver, campaign, tiers["credit"], "pays@example.com")
    failing = saved(
        client, stripe_fake, deliver, campaign, tiers["credit"], "auth@example.com", card="pm_x"
    )
    stripe_fake.card_errors = {"pm_x": code}
    Campaign.objects.filter(pk=campaign.pk).update(deadline=timezone.now() - timedelta(seconds=1))
    funding_settle()
    failing.refresh_from_db()
    assert failing.status == Pledge.Status.RECOVERING
    assert failing.payment_intent in stripe_fake.intents
    return failing


@pytest.mark.parametrize("code", ["authentication_required", "card_declined"])
def test_paying_on_session_cancels_the_failed_intent_and_settles_one_order_once(
    client, campaign, tiers, stripe_fake, deliver, code
):
    from tests.funding.test_pledges import pledge_link

    failing = failed_charge(client, stripe_fake, deliver, campaign, tiers, code)
    failed_intent = stripe_fake.intents[failing.payment_intent]
    link = pledge_link("auth@example.com")
    response = client.post(link, {"action": "pay"})
    # The failed PaymentIntent is cancelled first: it can never charge too.
    [cancel] = stripe_fake.called("POST", f"/v1/payment_intents/{failing.payment_intent}/cancel")
    assert cancel["cancellation_reason"] == "abandoned"
    assert failed_intent["status"] == "canceled"
    [session] = [s for s in stripe_fake.sessions.values() if s["mode"] == "payment"]
    assert response.status_code == 302 and response["Location"] == session["url"]
    assert session["metadata"] == {"order": str(failing.order.public_id)}
    # A second click opens the same page and cancels nothing more.
    assert client.post(link, {"action": "pay"})["Location"] == session["url"]
    assert (
        len(stripe_fake.called("POST", f"/v1/payment_intents/{failing.payment_intent}/cancel")) == 1
    )
    # 3-D Secure (or another card) on Stripe's page; the signed event settles the order.
    paid = stripe_fake.complete(session["id"])
    assert deliver(event("checkout.session.completed", paid)).content == b"fulfilled"
    # The failed intent's own late event changes nothing.
    assert deliver(event("payment_intent.payment_failed", failed_intent)).content == (
        b"pledge recovering"
    )
    report = funding_settle()
    assert report.charged == 1
    failing.refresh_from_db()
    assert failing.status == Pledge.Status.CHARGED
    assert failing.order.status == Order.Status.PAID
    assert failing.order.provider_payment_id == paid["payment_intent"]
    orders = Order.objects.filter(pledges=failing)
    assert orders.count() == 1
    assert Order.objects.filter(status=Order.Status.PAID).count() == 2  # one per backer
    assert client.post(link, {"action": "pay"}).status_code == 302
    assert len([s for s in stripe_fake.sessions.values() if s["mode"] == "payment"]) == 1


def test_a_failed_intent_found_paid_when_cancelled_is_recorded_not_paid_again(
    client, campaign, tiers, stripe_fake, deliver
):
    from tests.funding.test_pledges import pledge_link

    failing = failed_charge(client, stripe_fake, deliver, campaign, tiers)
    intent = stripe_fake.intents[failing.payment_intent]
    # The backer confirmed it some other way meanwhile (its event not arrived yet).
    stripe_fake.charges[intent["id"]] = "ch_test_late"
    intent.update(status="succeeded", latest_charge="ch_test_late", last_payment_error=None)
    response = client.post(pledge_link("auth@example.com"), {"action": "pay"})
    assert response.status_code == 302 and response["Location"].startswith("/pledges/")
    assert not [s for s in stripe_fake.sessions.values() if s["mode"] == "payment"]
    failing.refresh_from_db()
    assert failing.status == Pledge.Status.CHARGED
    assert failing.order.provider_payment_id == intent["id"]
    # Its event, when it comes, is the same answer: nothing changes.
    assert deliver(event("payment_intent.succeeded", intent)).content == b"pledge charged"
    assert Order.objects.filter(status=Order.Status.PAID).count() == 2


@pytest.mark.parametrize("paid_meanwhile", [False, True])
def test_the_grace_period_ends_by_closing_the_payment_page_unless_it_was_paid(
    client, campaign, tiers, stripe_fake, deliver, paid_meanwhile
):
    from tests.funding.test_pledges import pledge_link

    failing = failed_charge(client, stripe_fake, deliver, campaign, tiers)
    client.post(pledge_link("auth@example.com"), {"action": "pay"})
    [session] = [s for s in stripe_fake.sessions.values() if s["mode"] == "payment"]
    if paid_meanwhile:
        stripe_fake.complete(session["id"])  # its webhook is still on the way
    Pledge.objects.filter(pk=failing.pk).update(recover_until=timezone.now() - timedelta(1))
    report = funding_settle()
    failing.refresh_from_db()
    assert stripe_fake.called("POST", f"/v1/checkout/sessions/{session['id']}/expire")
    if not paid_meanwhile:
        # Closed at Stripe first: nobody can pay for a pledge that is dropped.
        assert session["status"] == "expired"
        assert (report.dropped, failing.status) == (1, Pledge.Status.DROPPED)
        assert failing.order.status == Order.Status.EXPIRED
        return
    assert (report.dropped, failing.status) == (0, Pledge.Status.RECOVERING)
    paid = copy.deepcopy(session)
    assert deliver(event("checkout.session.completed", paid)).content == b"fulfilled"
    funding_settle()
    failing.refresh_from_db()
    assert failing.status == Pledge.Status.CHARGED
