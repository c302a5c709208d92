"""Stripe webhook events, each recorded once and handled idempotently.

A delivery is verified (``stripe_api.webhook_event``); then whatever the
handler must ask Stripe (the charge behind a session, the session behind a
payment) is asked *before* any transaction opens, so no database lock — on
SQLite the whole database's — waits on a round trip to Stripe. Only then is
the event id inserted into ``PaymentEvent`` (unique) and the handler's writes
applied, in one transaction. A duplicate delivery, concurrent or late, fails
the insert and changes nothing (a known duplicate is answered before asking
Stripe anything). Handlers only call the order services, which lock the order
row, so events about one order apply one at a time whatever order they
arrive in.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from shop import services
from shop.ledger import payout_seller
from shop.models import Order, PaymentEvent, PayoutAccount
from shop.payments import stripe_api

log = logging.getLogger(__name__)


def _order_for_session(session: stripe_api.CheckoutSession) -> Order | None:
    public_id = session.metadata.get("order")
    query = Order.objects.filter(provider_session_id=session.id)
    found = query.first()
    if found is None and public_id:
        try:
            found = Order.objects.filter(public_id=public_id).first()
        except ValidationError:  # not a uuid: not one of ours
            found = None
    return found


def _is_paid(session: stripe_api.CheckoutSession) -> bool:
    return session.payment_status in ("paid", "no_payment_required")


def _session_charge(session: stripe_api.CheckoutSession) -> str | None:
    """Asked of Stripe before the transaction: the charge behind a paid session
    whose order does not know it yet (None when not needed or not answered)."""
    order = _order_for_session(session)
    if order is None or order.provider_charge_id or not session.payment_intent:
        return None
    if not _is_paid(session):
        return None
    try:
        return stripe_api.payment_intent_charge(session.payment_intent)
    except stripe_api.PaymentProviderError:
        return None  # transfers then wait for the funds without a source charge


def session_settle(session: stripe_api.CheckoutSession) -> str:
    """Apply what a Checkout Session says to its order: the success page and the
    reconciliation, outside any transaction (the charge is asked of Stripe first)."""
    return _session_apply(session, charge=_session_charge(session))


def _session_apply(session: stripe_api.CheckoutSession, *, charge: str | None) -> str:
    order = _order_for_session(session)
    if order is None:
        return "unknown order"
    if not _is_paid(session):
        return "not paid yet"
    if session.amount_total is not None and session.amount_total != order.total:
        # Never grant what was not paid for: a mismatch needs a person.
        Order.objects.filter(pk=order.pk).update(
            flagged=True,
            flag_reason=f"Stripe charged {session.amount_total}, order says {order.total}",
        )
        return "amount mismatch"
    try:
        services.order_fulfil(
            order_id=order.pk,
            payment_id=session.payment_intent,
            charge_id=charge,
            country=session.country,
        )
    except services.OrderStateError as exc:
        Order.objects.filter(pk=order.pk).update(flagged=True, flag_reason=str(exc)[:300])
        return "paid in an unexpected state"
    return "fulfilled"


def _ask_session_charge(obj: Any) -> str | None:
    return _session_charge(stripe_api.checkout_session_from(obj))


def _session_completed(obj: Any, charge: str | None) -> str:
    return _session_apply(stripe_api.checkout_session_from(obj), charge=charge)


def _session_failed(obj: Any, _: object) -> str:
    order = _order_for_session(stripe_api.checkout_session_from(obj))
    if order is None:
        return "unknown order"
    try:
        services.order_fail(order_id=order.pk, reason="The payment did not go through.")
    except services.OrderStateError:
        return "ignored: order already settled"
    return "failed"


def _session_expired(obj: Any, _: object) -> str:
    order = _order_for_session(stripe_api.checkout_session_from(obj))
    if order is None:
        return "unknown order"
    services.order_expire(order_id=order.pk)
    return "expired"


def _order_for_charge(charge: Any) -> Order | None:
    intent = charge.get("payment_intent")
    if intent is not None and not isinstance(intent, str):
        intent = intent.get("id")
    found = Order.objects.filter(provider_charge_id=charge.get("id")).first()
    if found is None and intent:
        found = Order.objects.filter(provider_payment_id=intent).first()
    if found is None and intent:
        # The payment event has not arrived yet: ask Stripe which session made the payment.
        try:
            session = stripe_api.checkout_session_for_payment_intent(intent)
        except stripe_api.PaymentProviderError:
            session = None
        found = _order_for_session(session) if session else None
    return found


def _paid_before(order: Order, charge: Any) -> None:
    """A refund or dispute that overtook the payment event: the charge proves the payment."""
    if order.status == Order.Status.PENDING:
        intent = charge.get("payment_intent")
        services.order_fulfil(
            order_id=order.pk,
            payment_id=intent if isinstance(intent, str) else None,
            charge_id=charge.get("id"),
        )


def _charge_refunded(obj: Any, order: Order | None) -> str:
    if order is None:
        return "unknown order"
    _paid_before(order, obj)
    refunds = (obj.get("refunds") or {}).get("data") or []
    latest = refunds[0].get("id") if refunds else None
    amount, refunded = int(obj.get("amount") or 0), int(obj.get("amount_refunded") or 0)
    services.order_refund_record(
        order_id=order.pk,
        refunded_total=refunded,
        provider_refund_id=latest,
        full=bool(amount) and refunded >= amount,
    )
    return "refund recorded"


def _dispute_charge(obj: Any) -> dict[str, Any]:
    charge_id = obj.get("charge")
    if charge_id is not None and not isinstance(charge_id, str):
        charge_id = charge_id.get("id")
    return {"id": charge_id, "payment_intent": obj.get("payment_intent"), "metadata": {}}


def _dispute_order(obj: Any) -> Order | None:
    return _order_for_charge(_dispute_charge(obj))


def _dispute_created(obj: Any, order: Order | None) -> str:
    charge_id = _dispute_charge(obj)["id"]
    if order is None:
        return "unknown order"
    _paid_before(order, {"id": charge_id, "payment_intent": obj.get("payment_intent")})
    services.order_dispute(
        order_id=order.pk, reason=f"Dispute {obj.get('id')}: {obj.get('reason')}"
    )
    return "dispute recorded"


def _account_updated(obj: Any, _: object) -> str:
    return account_status_apply(stripe_api.account_status(obj))


def account_status_apply(status: stripe_api.AccountStatus) -> str:
    """Record what Stripe says a connected account may do; pay what is owed once it can."""
    account = PayoutAccount.objects.filter(stripe_account_id=status.id).first()
    if account is None:
        return "unknown account"
    was_ready = account.can_receive_transfers
    account.details_submitted = status.details_submitted
    account.charges_enabled = status.charges_enabled
    account.payouts_enabled = status.payouts_enabled
    account.save(
        update_fields=["details_submitted", "charges_enabled", "payouts_enabled", "updated_at"]
    )
    if account.can_receive_transfers and not was_ready:
        seller_id = account.seller_id
        transaction.on_commit(lambda: payout_seller.enqueue(seller_id=seller_id))
    return "account updated"


def _nothing_to_ask(obj: Any) -> None:
    return None


# Each event type: what to ask Stripe first (no transaction open), then what to write.
HANDLERS: dict[str, tuple[Callable[[Any], Any], Callable[[Any, Any], str]]] = {
    "checkout.session.completed": (_ask_session_charge, _session_completed),
    "checkout.session.async_payment_succeeded": (_ask_session_charge, _session_completed),
    "checkout.session.async_payment_failed": (_nothing_to_ask, _session_failed),
    "checkout.session.expired": (_nothing_to_ask, _session_expired),
    "charge.refunded": (_order_for_charge, _charge_refunded),
    "charge.dispute.created": (_dispute_order, _dispute_created),
    "account.updated": (_nothing_to_ask, _account_updated),
}


def webhook_receive(*, payload: bytes, signature: str) -> str:
    """Verify, ask Stripe what is needed, then record once and write.

    Returns what happened, for the response and the log.
    """
    event = stripe_api.webhook_event(payload, signature)
    handler = HANDLERS.get(event.type)
    if PaymentEvent.objects.filter(provider="stripe", event_id=event.id).exists():
        return "duplicate"
    asked = handler[0](event.object) if handler else None
    with transaction.atomic():
        try:
            with transaction.atomic():
                # A concurrent delivery of the same event waits here for the first
                # one's commit, then fails the unique constraint.
                PaymentEvent.objects.create(
                    provider="stripe",
                    event_id=event.id,
                    type=event.type,
                    payload=event.payload if handler else {},
                )
        except IntegrityError:
            return "duplicate"
        outcome = handler[1](event.object, asked) if handler else "ignored"
    log.info("Stripe event %s (%s): %s", event.id, event.type, outcome)
    return outcome
