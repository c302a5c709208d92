"""Stripe events that belong to fan funding, through commerce's verified, exactly-once path.

A setup-mode Checkout Session completing saves a backer's card (the card is
asked of Stripe first, with no transaction open); a PaymentIntent of a pledge
succeeding or failing records the charge's answer, as the settle run would.
"""

from __future__ import annotations

import logging
from typing import Any

from shop.funding.models import Pledge
from shop.funding.services import FundingError, pledge_card_saved
from shop.funding.settlement import pledge_charge_apply
from shop.payments import stripe_api
from shop.payments.webhooks import webhook_handler_add

log = logging.getLogger(__name__)


def _pledge_for(metadata: Any) -> Pledge | None:
    public_id = metadata.get("pledge") if isinstance(metadata, dict) else None
    if not isinstance(public_id, str):
        return None
    try:
        return Pledge.objects.filter(public_id=public_id).first()
    except Exception:
        return None


def card_saved_apply(session: stripe_api.SetupSession, card: stripe_api.SavedCard | None) -> str:
    """Apply a completed setup session (webhook or return page) to its pledge."""
    pledge = _pledge_for(dict(session.metadata))
    if pledge is None:
        return "unknown pledge"
    if card is None or card.status != "succeeded" or not card.payment_method:
        return "card not saved"
    try:
        pledge_card_saved(
            pledge_id=pledge.pk,
            customer=card.customer or session.customer or pledge.customer_id,
            payment_method=card.payment_method,
        )
    except FundingError as exc:
        log.warning("Pledge %s card saved but refused: %s", pledge.public_id, exc)
        return "pledge refused"
    return "card saved"


def card_for(session: stripe_api.SetupSession) -> stripe_api.SavedCard | None:
    """Asked of Stripe before any transaction: the card the session saved."""
    if not session.setup_intent:
        return None
    try:
        return stripe_api.setup_intent_retrieve(session.setup_intent)
    except stripe_api.PaymentProviderError:
        return None


def _ask_card(obj: Any) -> stripe_api.SavedCard | None:
    return card_for(stripe_api.setup_session_from(obj))


def _setup_completed(obj: Any, card: stripe_api.SavedCard | None) -> str:
    return card_saved_apply(stripe_api.setup_session_from(obj), card)


def _is_pledge_payment(obj: dict[str, Any]) -> bool:
    metadata = obj.get("metadata")
    return (
        obj.get("object") == "payment_intent"
        and isinstance(metadata, dict)
        and "pledge" in metadata
    )


def _nothing(obj: Any) -> None:
    return None


def _pledge_payment(obj: Any, _: object) -> str:
    pledge = _pledge_for(obj.get("metadata"))
    if pledge is None:
        return "unknown pledge"
    result = stripe_api.off_session_charge_from(obj)
    if pledge.order is None or result.payment_intent is None:
        return "pledge not being charged"
    return f"pledge {pledge_charge_apply(pledge_id=pledge.pk, result=result)}"


def register() -> None:
    webhook_handler_add(
        event_type="checkout.session.completed",
        claims=stripe_api.is_setup_session,
        handler=(_ask_card, _setup_completed),
    )
    for event_type in ("payment_intent.succeeded", "payment_intent.payment_failed"):
        webhook_handler_add(
            event_type=event_type, claims=_is_pledge_payment, handler=(_nothing, _pledge_payment)
        )
