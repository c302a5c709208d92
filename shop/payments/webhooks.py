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

A signature proves who sent an event, not that it fits the order: an order is
fulfilled only when Stripe's amount and currency are exactly the order's, and
a refund or dispute is applied only when it fits the charge and the order.
Anything else flags the order for a person and grants nothing. A signed event
that cannot be read (no ``data.object``, a session without an id) is recorded,
so Stripe's retries are duplicates, logged, and answered 400.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_noop

from catalog.money import format_money
from shop import services, tax
from shop.ledger import payout_seller
from shop.models import Order, PaymentEvent, PayoutAccount
from shop.payments import stripe_api

log = logging.getLogger(__name__)

# What to ask Stripe first (no transaction open), then what to write.
_Handler = tuple[Callable[[Any], Any], Callable[[Any, Any], str]]


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


def _money(amount: int | None, currency: str | None) -> str:
    """An amount for a person, with its ISO code (``¥`` alone could be yen or yuan)."""
    if amount is None:
        return f"no amount{f' in {currency}' if currency else ''}"
    if not currency:
        return f"{amount} in no currency"
    text = format_money(amount, currency)
    return text if text.endswith(currency) else f"{text} {currency}"


def misfit(
    order: Order, *, what: str, amount: int | None, currency: str | None, at_most: bool = False
) -> str | None:
    """Why Stripe's amount and currency cannot be applied to ``order``; None when they fit.

    They fit when the currency is the order's and the amount is its total exactly
    (``at_most``: no more than its total). A missing amount or currency never fits.
    """
    fits = currency is not None and currency == order.currency.upper() and amount is not None
    if fits and amount is not None:
        fits = amount <= order.gross if at_most else amount == order.gross
    if fits:
        return None
    return (
        f"{what} says {_money(amount, currency)}; "
        f"the order is for {_money(order.gross, order.currency.upper())}."
    )


def _is_paid(session: stripe_api.CheckoutSession) -> bool:
    return session.payment_status in ("paid", "no_payment_required")


@dataclass(frozen=True, slots=True)
class SessionAnswers:
    """What is asked of Stripe about a paid session before any transaction opens."""

    charge: str | None = None
    card_country: str | None = None
    tax_lines: list[stripe_api.TaxLine] | None = None


def _session_ask(session: stripe_api.CheckoutSession) -> SessionAnswers:
    """The charge and card behind a paid session whose order does not know them yet, and
    the VAT of each line when Stripe Tax ran (raises PaymentProviderError if unanswered:
    a taxed order is never settled on a guess, the webhook is retried)."""
    order = _order_for_session(session)
    if order is None or not _is_paid(session) or order.status != Order.Status.PENDING:
        return SessionAnswers()
    charge = card = None
    if session.payment_intent and not order.provider_charge_id:
        try:
            evidence = stripe_api.payment_evidence(session.payment_intent)
            charge, card = evidence.charge_id, evidence.card_country
        except stripe_api.PaymentProviderError:
            pass  # transfers then wait for the funds without a source charge
    lines = None
    if session.automatic_tax or session.amount_tax:
        lines = stripe_api.checkout_session_tax_lines(session.id)
    return SessionAnswers(charge=charge, card_country=card, tax_lines=lines)


def session_settle(session: stripe_api.CheckoutSession) -> str:
    """Apply what a Checkout Session says to its order: the success page and the
    reconciliation, outside any transaction (Stripe is asked first)."""
    return _session_apply(session, answers=_session_ask(session))


def _session_tax(
    order: Order, session: stripe_api.CheckoutSession, lines: list[stripe_api.TaxLine] | None
) -> tax.TaxFigures | None:
    """The order's VAT from Stripe's lines; None when there are none to read (an untaxed
    session, or an order settled already) and the session's total is exactly what the
    order was charged. Raises TaxMismatch for anything else."""
    if lines is None:
        wrong = misfit(
            order, what="Stripe's session", amount=session.amount_total, currency=session.currency
        )
        if wrong is not None:
            raise tax.TaxMismatch(wrong)
        return None
    if session.currency != order.currency.upper():
        raise tax.TaxMismatch(
            f"Stripe's session is in {session.currency}; the order in {order.currency.upper()}."
        )
    return tax.settlement_figures(
        items=[
            tax.ItemFacts(
                pk=item.pk,
                product_id=item.product_id,
                unit_price=item.unit_price,
                behavior=item.tax_behavior or tax.INCLUSIVE,
            )
            for item in order.items.all()
        ],
        lines=lines,
        amount_total=session.amount_total,
        amount_tax=session.amount_tax,
        order_total=order.total,
    )


def _session_apply(session: stripe_api.CheckoutSession, *, answers: SessionAnswers) -> str:
    order = _order_for_session(session)
    if order is None:
        return "unknown order"
    if not _is_paid(session):
        return "not paid yet"
    try:
        figures = _session_tax(order, session, answers.tax_lines)
    except tax.TaxMismatch as exc:
        # Never grant what was not paid for: a mismatch needs a person.
        log.warning("Order %s not fulfilled: %s", order.public_id, exc)
        services.order_flag(order_id=order.pk, reason=str(exc))
        return "amount mismatch"
    return _fulfil(order, session, answers, figures)


def _fulfil(
    order: Order,
    session: stripe_api.CheckoutSession,
    answers: SessionAnswers,
    figures: tax.TaxFigures | None,
) -> str:
    try:
        services.order_fulfil(
            order_id=order.pk,
            payment_id=session.payment_intent,
            charge_id=answers.charge,
            country=session.country,
            tax=figures,
            card_country=answers.card_country,
            tax_ids=[f"{kind}:{value}" for kind, value in session.tax_ids],
        )
    except services.OrderStateError as exc:
        Order.objects.filter(pk=order.pk).update(flagged=True, flag_reason=str(exc)[:300])
        return "paid in an unexpected state"
    return "fulfilled"


def _ask_session_charge(obj: Any) -> SessionAnswers:
    return _session_ask(stripe_api.checkout_session_from(obj))


def _session_completed(obj: Any, answers: SessionAnswers) -> str:
    return _session_apply(stripe_api.checkout_session_from(obj), answers=answers)


def _session_failed(obj: Any, _: object) -> str:
    order = _order_for_session(stripe_api.checkout_session_from(obj))
    if order is None:
        return "unknown order"
    try:
        services.order_fail(
            order_id=order.pk, reason=gettext_noop("The payment did not go through.")
        )
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
    """The order a charge paid, by the charge's id or its PaymentIntent's, never by a blank."""
    charge_id = stripe_api.object_id(charge.get("id"))
    intent = stripe_api.object_id(charge.get("payment_intent"))
    # A missing id must not match the orders whose id is missing too (IS NULL).
    found = Order.objects.filter(provider_charge_id=charge_id).first() if charge_id else None
    if found is None and intent:
        found = Order.objects.filter(provider_payment_id=intent).first()
    session = None
    if found is None and intent:
        # The payment event has not arrived yet: ask Stripe which session made the payment.
        session = _session_for_payment(intent)
        found = _order_for_session(session) if session else None
    if found is not None and intent and found.status == Order.Status.PENDING:
        found = _settled_first(found, charge, session or _session_for_payment(intent))
    return found


def _session_for_payment(intent: str) -> stripe_api.CheckoutSession | None:
    try:
        return stripe_api.checkout_session_for_payment_intent(intent)
    except stripe_api.PaymentProviderError:
        return None


def _settled_first(order: Order, charge: Any, session: stripe_api.CheckoutSession | None) -> Order:
    """A refund or dispute that overtook the payment event of an order whose charge is
    more than the order knows (VAT that Stripe Tax added on top, known only from the
    session's lines): settle the payment from the session first, outside any
    transaction as the success page does, so the refund is weighed against the
    order's gross. Only a charge in the order's currency for more than its gross asks:
    one that fits needs no question, and one in another currency is flagged as it is."""
    amount = stripe_api.minor_units(charge.get("amount"))
    currency = stripe_api.currency_code(charge.get("currency"))
    more = currency == order.currency.upper() and amount is not None and amount > order.gross
    if not more or session is None or not _is_paid(session):
        return order
    try:
        session_settle(session)
    except stripe_api.PaymentProviderError:
        return order  # the write below flags the order, as without the session
    order.refresh_from_db()
    return order


def _paid_before(order: Order, charge: Any) -> None:
    """A refund or dispute that overtook the payment event: the charge proves the payment
    (its amount and currency were checked against the order by the caller)."""
    if order.status == Order.Status.PENDING:
        services.order_fulfil(
            order_id=order.pk,
            payment_id=stripe_api.object_id(charge.get("payment_intent")),
            charge_id=stripe_api.object_id(charge.get("id")),
        )


def _flag(order: Order, reason: str) -> None:
    log.warning("Order %s flagged: %s", order.public_id, reason)
    services.order_flag(order_id=order.pk, reason=reason)


def _charge_refunded(obj: Any, order: Order | None) -> str:
    if order is None:
        return "unknown order"
    currency = stripe_api.currency_code(obj.get("currency"))
    amount = stripe_api.minor_units(obj.get("amount"))
    refunded = stripe_api.minor_units(obj.get("amount_refunded"))
    wrong = misfit(order, what="The refunded charge", amount=amount, currency=currency)
    if wrong is None and (refunded is None or amount is None or refunded > amount):
        wrong = (
            f"The refunded charge says {_money(refunded, currency)} was refunded "
            f"of {_money(amount, currency)}."
        )
    if wrong is not None:
        _flag(order, wrong)
        return "refund does not fit the order"
    assert amount is not None and refunded is not None
    _paid_before(order, obj)
    refunds = obj.get("refunds")
    listed = refunds.get("data") if isinstance(refunds, dict) else None
    latest = stripe_api.object_id(listed[0]) if isinstance(listed, list) and listed else None
    services.order_refund_record(
        order_id=order.pk,
        refunded_total=refunded,
        provider_refund_id=latest,
        full=bool(amount) and refunded >= amount,
    )
    return "refund recorded"


def _dispute_charge(obj: Any) -> dict[str, Any]:
    return {
        "id": stripe_api.object_id(obj.get("charge")),
        "payment_intent": stripe_api.object_id(obj.get("payment_intent")),
        # What the dispute is for: at most the charge, so a dispute that overtook a
        # taxed payment's event also settles it first.
        "amount": obj.get("amount"),
        "currency": obj.get("currency"),
        "metadata": {},
    }


def _dispute_order(obj: Any) -> Order | None:
    charge = _dispute_charge(obj)
    if charge["id"] is None:
        return None  # every dispute is about a charge; one without names no order
    return _order_for_charge(charge)


def _dispute_created(obj: Any, order: Order | None) -> str:
    if _dispute_charge(obj)["id"] is None:
        log.warning("Stripe dispute %r names no charge; nothing changed", obj.get("id"))
        return "ignored: dispute without a charge"
    if order is None:
        return "unknown order"
    reason = f"Dispute {obj.get('id')}: {obj.get('reason')}"
    # A dispute may be for part of the charge, never for more or in another currency.
    wrong = misfit(
        order,
        what="The dispute",
        amount=stripe_api.minor_units(obj.get("amount")),
        currency=stripe_api.currency_code(obj.get("currency")),
        at_most=True,
    )
    if wrong is not None:
        if order.status == Order.Status.PENDING:
            # Not proof of a payment: neither fulfil nor debit the sellers for a sale never made.
            _flag(order, f"{reason}. {wrong}")
            return "dispute does not fit the order"
        reason = f"{reason}. {wrong}"
    else:
        _paid_before(order, _dispute_charge(obj))
    # Money taken back by the bank: downloads are revoked whatever else is wrong.
    services.order_dispute(order_id=order.pk, reason=reason)
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
HANDLERS: dict[str, _Handler] = {
    "checkout.session.completed": (_ask_session_charge, _session_completed),
    "checkout.session.async_payment_succeeded": (_ask_session_charge, _session_completed),
    "checkout.session.async_payment_failed": (_nothing_to_ask, _session_failed),
    "checkout.session.expired": (_nothing_to_ask, _session_expired),
    "charge.refunded": (_order_for_charge, _charge_refunded),
    "charge.dispute.created": (_dispute_order, _dispute_created),
    "account.updated": (_nothing_to_ask, _account_updated),
}


# Handlers added by the apps above commerce (fan funding) for the events that are
# theirs: (event type, does this object belong to the app, handler). Tried first.
_CLAIMED: list[tuple[str, Callable[[dict[str, Any]], bool], _Handler]] = []


def webhook_handler_add(
    *, event_type: str, claims: Callable[[dict[str, Any]], bool], handler: _Handler
) -> None:
    """Route events of ``event_type`` whose object ``claims`` accepts to ``handler``
    (ask first, then write), through the same verified, exactly-once path."""
    _CLAIMED[:] = [c for c in _CLAIMED if not (c[0] == event_type and c[1] is claims)]
    _CLAIMED.append((event_type, claims, handler))


def _handler_for(event: stripe_api.WebhookEvent) -> _Handler | None:
    for event_type, claims, handler in _CLAIMED:
        if event_type == event.type and claims(event.object):
            return handler
    return HANDLERS.get(event.type)


def webhook_receive(*, payload: bytes, signature: str) -> str:
    """Verify, ask Stripe what is needed, then record once and write.

    Returns what happened, for the response and the log.
    """
    try:
        event = stripe_api.webhook_event(payload, signature)
    except stripe_api.WebhookEventMalformed as exc:
        if not _record_unreadable(exc):
            return "duplicate"
        raise
    handler = _handler_for(event)
    if PaymentEvent.objects.filter(provider="stripe", event_id=event.id).exists():
        return "duplicate"
    try:
        return _apply(event, handler)
    except stripe_api.MalformedObject as exc:
        # The event's own transaction has rolled back; it is recorded on its own.
        malformed = stripe_api.WebhookEventMalformed(
            str(exc), event_id=event.id, event_type=event.type, payload=event.payload
        )
        if not _record_unreadable(malformed):
            return "duplicate"
        raise malformed from exc


def event_replay(event: stripe_api.WebhookEvent) -> str:
    """Apply an event read from Stripe's events list as if its webhook had arrived.

    The same ledger (``PaymentEvent``) makes it exactly once: an event whose
    webhook did arrive, now or later, is a duplicate.
    """
    if PaymentEvent.objects.filter(provider="stripe", event_id=event.id).exists():
        return "duplicate"
    return _apply(event, _handler_for(event))


def _record_unreadable(exc: stripe_api.WebhookEventMalformed) -> bool:
    """Keep a signed event that cannot be acted on, once, so a retry is a duplicate.

    False when an earlier delivery of it was recorded already.
    """
    if exc.event_id is None:
        log.warning("Stripe event without an id refused: %s", exc)
        return True  # nothing to key it on
    try:
        with transaction.atomic():
            PaymentEvent.objects.create(
                provider="stripe",
                event_id=exc.event_id,
                type=exc.event_type[:100],
                payload=exc.payload,
            )
    except IntegrityError:
        return False
    log.warning("Stripe event %s (%s) refused: %s", exc.event_id, exc.event_type, exc)
    return True


def _apply(event: stripe_api.WebhookEvent, handler: _Handler | None) -> str:
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
