"""Saving a backer's card and charging it later, with Stripe or with the test-mode provider.

One small class per provider (as the storages and upload backends are split):
``card_start`` sends the backer to save a card (Stripe Checkout in
``mode=setup``, or the local test card page), ``charge`` charges the saved card
off session with an idempotency key per pledge. Every Stripe call is in
``shop.payments.stripe_api``; nothing here holds a transaction open.
"""

from __future__ import annotations

from typing import Protocol

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from catalog.money import format_money
from shop.funding.models import Pledge
from shop.payments import stripe_api
from shop.payments.stripe_api import OffSessionCharge

# The test provider's saved cards: what each does when charged off session.
TEST_CARDS = {
    "pm_test_pays": "succeeded",
    "pm_test_needs_authentication": "authentication_required",
    "pm_test_declines": "card_declined",
}


class CardProvider(Protocol):
    name: str

    def card_start(self, *, pledge: Pledge) -> str: ...

    def charge(self, *, pledge: Pledge, idempotency_key: str) -> OffSessionCharge: ...

    def void(self, *, pledge: Pledge) -> OffSessionCharge | None:
        """Cancel the pledge's failed charge; None once it can never charge, else its state."""
        ...


def charge_terms(pledge: Pledge) -> str:
    campaign = pledge.campaign
    return _(
        "Nothing is charged today. If “%(title)s” reaches its goal by %(deadline)s, "
        "this card is charged %(amount)s once, off session; otherwise never. "
        "You can change or cancel until the deadline."
    ) % {
        "title": campaign.title,
        "deadline": campaign.deadline.strftime("%Y-%m-%d %H:%M UTC"),
        "amount": format_money(pledge.amount, pledge.currency),
    }


class TestCards:
    __test__ = False
    name = "test"

    def card_start(self, *, pledge: Pledge) -> str:
        return reverse("funding:test_card", kwargs={"pledge": pledge.public_id})

    def charge(self, *, pledge: Pledge, idempotency_key: str) -> OffSessionCharge:
        outcome = TEST_CARDS.get(pledge.payment_method_id, "card_declined")
        reference = f"test_{idempotency_key}"
        if outcome == "succeeded":
            return OffSessionCharge(
                reference, "succeeded", None, pledge.amount, pledge.currency, "", ""
            )
        message = (
            _("Your bank asks you to confirm this payment.")
            if outcome == "authentication_required"
            else _("Your card was declined.")
        )
        status = "requires_action" if outcome == "authentication_required" else "failed"
        return OffSessionCharge(
            reference, status, None, pledge.amount, pledge.currency, outcome, message
        )

    def void(self, *, pledge: Pledge) -> OffSessionCharge | None:
        return None  # a test charge that failed never charges later


class StripeCards:
    name = "stripe"

    def card_start(self, *, pledge: Pledge) -> str:
        customer = pledge.customer_id or stripe_api.customer_create(
            email=pledge.email, idempotency_key=f"pledge-customer-{pledge.public_id}"
        )
        manage = settings.SITE_URL + reverse("funding:setup_return")
        session = stripe_api.setup_session_create(
            customer=customer,
            currency=pledge.currency,
            pledge_public_id=str(pledge.public_id),
            terms=charge_terms(pledge),
            success_url=manage + "?session_id={CHECKOUT_SESSION_ID}",
            cancel_url=settings.SITE_URL + pledge.campaign.get_absolute_url(),
            # A new session per card change: the key names the pledge and its last update.
            idempotency_key=f"pledge-setup-{pledge.public_id}-{pledge.updated_at.timestamp()}",
        )
        with transaction.atomic():
            Pledge.objects.filter(pk=pledge.pk).update(
                customer_id=customer, setup_session_id=session.id
            )
        if not session.url:
            raise stripe_api.PaymentProviderError(_("Stripe did not return a page to save a card."))
        return session.url

    def charge(self, *, pledge: Pledge, idempotency_key: str) -> OffSessionCharge:
        assert pledge.order is not None
        return stripe_api.payment_intent_off_session(
            amount=pledge.amount,
            currency=pledge.currency,
            customer=pledge.customer_id,
            payment_method=pledge.payment_method_id,
            idempotency_key=idempotency_key,
            metadata={"pledge": str(pledge.public_id), "order": str(pledge.order.public_id)},
            # The same transfer group as any sale, so Connect transfers find the charge.
            transfer_group=f"order_{pledge.order.public_id}",
        )

    def void(self, *, pledge: Pledge) -> OffSessionCharge | None:
        return stripe_api.payment_intent_cancel(
            pledge.payment_intent, idempotency_key=f"pledge-void-{pledge.public_id}"
        )


def cards_for(name: str) -> CardProvider:
    return StripeCards() if name == "stripe" else TestCards()
