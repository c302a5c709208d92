"""The one module that talks to Stripe.

Everything else in the project calls these functions and gets plain
dataclasses back, or :class:`PaymentProviderError` when Stripe says no or
cannot be reached. The API version is pinned here, so an SDK upgrade never
changes the shape of what Stripe sends without a deliberate change here.

Tests answer the SDK's HTTP requests (``_http_client``) with Stripe's own
example objects and sign webhook payloads with the real scheme.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import stripe
from django.conf import settings

from shop.tax import rate_basis_points

log = logging.getLogger(__name__)

# The version stripe-python 16 is generated for; bump both together.
API_VERSION = "2026-10-28.endive"

# Replaced in tests by an HTTP client that answers with fixture objects.
_http_client: stripe.HTTPClient | None = None


class PaymentProviderError(Exception):
    """Stripe refused the request or could not be reached; the message is for people."""


class WebhookSignatureInvalid(Exception):
    """A webhook whose payload or signature does not check out."""


class MalformedObject(PaymentProviderError):
    """A Stripe object (signed or fetched) that lacks a field the shop relies on."""


class WebhookEventMalformed(Exception):
    """A signed event that cannot be acted on; what is known of it is kept for the record."""

    def __init__(
        self,
        message: str,
        *,
        event_id: str | None = None,
        event_type: str = "",
        payload: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.event_id = event_id
        self.event_type = event_type
        self.payload = payload or {}


@dataclass(frozen=True, slots=True)
class CheckoutSession:
    id: str
    url: str | None
    status: str | None  # open, complete, expired
    payment_status: str  # paid, unpaid, no_payment_required
    payment_intent: str | None
    amount_total: int | None
    currency: str | None
    customer_email: str | None
    country: str | None
    metadata: Mapping[str, str]
    # Stripe Tax's answer: all the VAT (None when not well-formed), whether it ran,
    # and the buyer's tax ids as (type, value) — what the session itself carries.
    amount_tax: int | None = 0
    automatic_tax: bool = False
    tax_ids: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class TaxLine:
    """One line of a paid session as Stripe taxed it (``/line_items`` with ``taxes``)."""

    product_id: int | None  # ours, from the product's metadata
    amount_subtotal: int | None
    amount_tax: int | None
    amount_total: int | None
    # (country, rate in hundredths of a percent or None, taxable amount, tax, reason)
    taxes: tuple[tuple[str, int | None, int | None, int | None, str], ...]


@dataclass(frozen=True, slots=True)
class PaymentEvidence:
    """What the charge behind a paid session says: its id and the card's issuing country."""

    charge_id: str | None
    card_country: str | None


@dataclass(frozen=True, slots=True)
class AccountStatus:
    id: str
    details_submitted: bool
    charges_enabled: bool
    payouts_enabled: bool


@dataclass(frozen=True, slots=True)
class LineItem:
    name: str
    amount: int  # minor units
    currency: str
    product_id: int
    tax_behavior: str = "inclusive"  # does ``amount`` hold the VAT, or does it come on top
    tax_code: str = ""


def _client() -> stripe.StripeClient:
    if not settings.STRIPE_SECRET_KEY:
        raise PaymentProviderError("Stripe is not configured (STRIPE_SECRET_KEY is empty).")
    return stripe.StripeClient(
        settings.STRIPE_SECRET_KEY,
        stripe_version=API_VERSION,
        http_client=_http_client,
        max_network_retries=2,
    )


def _wrap(exc: stripe.StripeError) -> PaymentProviderError:
    message = exc.user_message or "The payment service could not complete the request."
    return PaymentProviderError(message)


def plain(obj: Any) -> dict[str, Any]:
    """A Stripe object as the plain dict it came as in JSON."""
    return obj.to_dict() if isinstance(obj, stripe.StripeObject) else dict(obj)


def minor_units(value: Any) -> int | None:
    """An amount as Stripe sends it (a JSON integer, never negative), or None for anything else.

    ``1000.0`` and ``True`` compare equal to integers in Python, so the type is checked,
    not the value: an amount that is not exactly an integer is not an amount.
    """
    return value if type(value) is int and value >= 0 else None


def currency_code(value: Any) -> str | None:
    """A three-letter ISO currency in upper case, or None for anything else."""
    if isinstance(value, str) and len(value) == 3 and value.isascii() and value.isalpha():
        return value.upper()
    return None


def object_id(value: Any) -> str | None:
    """The id of an expandable field (a string, or an object with an ``id``), or None."""
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) and value else None


def metadata_of(obj: Mapping[str, Any]) -> dict[str, str]:
    """An object's metadata as strings (absent or malformed: empty)."""
    metadata = obj.get("metadata")
    return {str(k): str(v) for k, v in metadata.items()} if isinstance(metadata, dict) else {}


def _as_dict(obj: Any) -> dict[str, Any]:
    if isinstance(obj, stripe.StripeObject):
        return obj.to_dict()
    if not isinstance(obj, Mapping):
        raise MalformedObject(f"Expected a Stripe object, got {type(obj).__name__}.")
    return dict(obj)


def checkout_session_from(obj: Any) -> CheckoutSession:
    """Our `CheckoutSession` from a Stripe session (an SDK object or a webhook dict).

    Amounts and currencies that are not well-formed become None, which no order
    matches, so nothing is fulfilled on their word.
    """
    obj = _as_dict(obj)
    session_id = obj.get("id")
    if not isinstance(session_id, str) or not session_id:
        raise MalformedObject("A Checkout Session without an id.")
    details = obj.get("customer_details") or {}
    address = (details.get("address") if isinstance(details, dict) else None) or {}
    metadata = metadata_of(obj)
    totals = obj.get("total_details")
    tax = obj.get("automatic_tax")
    return CheckoutSession(
        id=session_id,
        url=obj.get("url"),
        status=obj.get("status"),
        payment_status=obj.get("payment_status") or "unpaid",
        payment_intent=object_id(obj.get("payment_intent")),
        amount_total=minor_units(obj.get("amount_total")),
        currency=currency_code(obj.get("currency")),
        customer_email=obj.get("customer_email") or details.get("email"),
        country=address.get("country"),
        metadata=metadata,
        amount_tax=minor_units(totals.get("amount_tax") or 0) if isinstance(totals, dict) else 0,
        automatic_tax=bool(tax.get("enabled")) if isinstance(tax, dict) else False,
        tax_ids=_tax_ids(details.get("tax_ids") if isinstance(details, dict) else None),
    )


def _tax_ids(value: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, list):
        return ()
    return tuple(
        (str(t.get("type") or "")[:20], str(t.get("value") or "")[:40])
        for t in value
        if isinstance(t, dict) and t.get("value")
    )


def _tax_line(obj: Any) -> TaxLine:
    obj = _as_dict(obj)
    price = obj.get("price")
    product = price.get("product") if isinstance(price, dict) else None
    ours = metadata_of(product).get("product") if isinstance(product, dict) else None
    taxes = []
    for tax in obj.get("taxes") or []:
        if not isinstance(tax, dict):
            continue
        rate = tax.get("rate")
        if not isinstance(rate, dict):
            rate = {}
        taxes.append(
            (
                str(rate.get("country") or rate.get("jurisdiction") or "")[:2].upper(),
                rate_basis_points(rate.get("percentage")),
                minor_units(tax.get("taxable_amount")),
                minor_units(tax.get("amount")),
                str(tax.get("taxability_reason") or ""),
            )
        )
    return TaxLine(
        product_id=int(ours) if ours and ours.isdigit() else None,
        amount_subtotal=minor_units(obj.get("amount_subtotal")),
        amount_tax=minor_units(obj.get("amount_tax")),
        amount_total=minor_units(obj.get("amount_total")),
        taxes=tuple(taxes),
    )


def checkout_session_tax_lines(session_id: str) -> list[TaxLine]:
    """A session's lines with the taxes Stripe Tax applied to each, and our product ids."""
    try:
        page = _client().v1.checkout.sessions.line_items.list(
            session_id,
            {"limit": 100, "expand": ["data.taxes", "data.price.product"]},
        )
        return [_tax_line(item) for item in page.auto_paging_iter()]
    except stripe.StripeError as exc:
        raise _wrap(exc) from exc


def payment_evidence(payment_intent_id: str) -> PaymentEvidence:
    """The charge that paid a PaymentIntent and the issuing country of its card, in one call."""
    try:
        intent = _client().v1.payment_intents.retrieve(
            payment_intent_id, {"expand": ["latest_charge"]}
        )
    except stripe.StripeError as exc:
        raise _wrap(exc) from exc
    charge = plain(intent).get("latest_charge")
    country = None
    if isinstance(charge, dict):
        details = charge.get("payment_method_details")
        card = details.get("card") if isinstance(details, dict) else None
        found = card.get("country") if isinstance(card, dict) else None
        if isinstance(found, str) and len(found) == 2 and found.isalpha():
            country = found.upper()
    return PaymentEvidence(charge_id=object_id(charge), card_country=country)


def checkout_session_create(
    *,
    order_public_id: str,
    line_items: list[LineItem],
    customer_email: str,
    success_url: str,
    cancel_url: str,
) -> CheckoutSession:
    """One hosted Checkout Session for one order, with prices decided by the server."""
    params: dict[str, Any] = {
        "mode": "payment",
        "customer_email": customer_email,
        "client_reference_id": order_public_id,
        "metadata": {"order": order_public_id},
        "payment_intent_data": {
            "metadata": {"order": order_public_id},
            # Separate charges and transfers: the transfers to sellers share this group.
            "transfer_group": f"order_{order_public_id}",
        },
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": item.currency.lower(),
                    "unit_amount": item.amount,
                    "tax_behavior": item.tax_behavior,
                    "product_data": {
                        "name": item.name[:250],
                        "metadata": {"product": str(item.product_id)},
                        **({"tax_code": item.tax_code} if item.tax_code else {}),
                    },
                },
            }
            for item in line_items
        ],
        "success_url": success_url,
        "cancel_url": cancel_url,
        "automatic_tax": {"enabled": settings.STRIPE_AUTOMATIC_TAX},
    }
    if settings.STRIPE_AUTOMATIC_TAX:
        # Businesses give their VAT number (reverse charge); the billing address is the
        # first piece of evidence of the buyer's country, the card's the second.
        params["tax_id_collection"] = {"enabled": True}
        params["billing_address_collection"] = "required"
    try:
        session = _client().v1.checkout.sessions.create(
            params,  # type: ignore[arg-type]
            {"idempotency_key": f"checkout-{order_public_id}"},
        )
    except stripe.StripeError as exc:
        raise _wrap(exc) from exc
    return checkout_session_from(session)


def checkout_session_retrieve(session_id: str) -> CheckoutSession:
    try:
        return checkout_session_from(_client().v1.checkout.sessions.retrieve(session_id))
    except stripe.StripeError as exc:
        raise _wrap(exc) from exc


def checkout_session_expire(session_id: str) -> str:
    """Close an open Checkout Session so it can no longer be paid; its status after.

    A session already complete (paid) or expired cannot be expired: Stripe says
    so, and its status is read instead.
    """
    try:
        session = _client().v1.checkout.sessions.expire(session_id)
    except stripe.InvalidRequestError:
        return checkout_session_retrieve(session_id).status or ""
    except stripe.StripeError as exc:
        raise _wrap(exc) from exc
    return checkout_session_from(session).status or ""


def checkout_sessions_complete(*, since: int) -> Iterator[CheckoutSession]:
    """Every completed session created at or after the Unix time ``since``."""
    try:
        page = _client().v1.checkout.sessions.list(
            {"status": "complete", "created": {"gte": since}, "limit": 100}
        )
        for session in page.auto_paging_iter():
            yield checkout_session_from(session)
    except stripe.StripeError as exc:
        raise _wrap(exc) from exc


def checkout_session_for_payment_intent(payment_intent_id: str) -> CheckoutSession | None:
    """The Checkout Session that created a PaymentIntent (to place an early refund or dispute)."""
    try:
        page = _client().v1.checkout.sessions.list(
            {"payment_intent": payment_intent_id, "limit": 1}
        )
    except stripe.StripeError as exc:
        raise _wrap(exc) from exc
    return checkout_session_from(page.data[0]) if page.data else None


def payment_intent_charge(payment_intent_id: str) -> str | None:
    """The id of the charge that paid a PaymentIntent, if there is one."""
    try:
        intent = _client().v1.payment_intents.retrieve(payment_intent_id)
    except stripe.StripeError as exc:
        raise _wrap(exc) from exc
    charge = plain(intent).get("latest_charge")
    if charge is not None and not isinstance(charge, str):
        charge = charge.get("id")
    return charge


def refund_create(
    *, payment_intent: str, amount: int, idempotency_key: str, metadata: Mapping[str, str]
) -> tuple[str, int, str]:
    """Refund part or all of a payment; returns (refund id, amount, status)."""
    try:
        refund = _client().v1.refunds.create(
            {"payment_intent": payment_intent, "amount": amount, "metadata": dict(metadata)},
            {"idempotency_key": idempotency_key},
        )
    except stripe.StripeError as exc:
        raise _wrap(exc) from exc
    return refund.id, int(refund.amount), str(refund.status)


def transfer_create(
    *,
    amount: int,
    currency: str,
    destination: str,
    transfer_group: str,
    source_transaction: str | None,
    idempotency_key: str,
) -> str:
    params: dict[str, Any] = {
        "amount": amount,
        "currency": currency.lower(),
        "destination": destination,
        "transfer_group": transfer_group,
    }
    if source_transaction:
        # Ties the transfer to the charge, so it waits for those funds to settle.
        params["source_transaction"] = source_transaction
    try:
        transfer = _client().v1.transfers.create(
            params,  # type: ignore[arg-type]
            {"idempotency_key": idempotency_key},
        )
    except stripe.StripeError as exc:
        raise _wrap(exc) from exc
    return transfer.id


def account_create(*, email: str, idempotency_key: str) -> str:
    """A new Express account for a seller."""
    try:
        account = _client().v1.accounts.create(
            {
                "type": "express",
                "email": email,
                "capabilities": {"transfers": {"requested": True}},
            },
            {"idempotency_key": idempotency_key},
        )
    except stripe.StripeError as exc:
        raise _wrap(exc) from exc
    return account.id


def account_link_create(*, account_id: str, refresh_url: str, return_url: str) -> str:
    """A one-time onboarding URL on Stripe for an Express account."""
    try:
        link = _client().v1.account_links.create(
            {
                "account": account_id,
                "refresh_url": refresh_url,
                "return_url": return_url,
                "type": "account_onboarding",
            }
        )
    except stripe.StripeError as exc:
        raise _wrap(exc) from exc
    return link.url


def account_status(obj: Any) -> AccountStatus:
    obj = _as_dict(obj)
    account_id = obj.get("id")
    if not isinstance(account_id, str) or not account_id:
        raise MalformedObject("An account without an id.")
    return AccountStatus(
        id=account_id,
        details_submitted=bool(obj.get("details_submitted")),
        charges_enabled=bool(obj.get("charges_enabled")),
        payouts_enabled=bool(obj.get("payouts_enabled")),
    )


def account_retrieve(account_id: str) -> AccountStatus:
    try:
        return account_status(_client().v1.accounts.retrieve(account_id))
    except stripe.StripeError as exc:
        raise _wrap(exc) from exc


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    id: str
    type: str
    object: dict[str, Any]
    payload: dict[str, Any]


def webhook_event(payload: bytes, signature: str) -> WebhookEvent:
    """Verify and parse a webhook delivery (the signature scheme and default tolerance)."""
    if not settings.STRIPE_WEBHOOK_SECRET:
        raise WebhookSignatureInvalid("STRIPE_WEBHOOK_SECRET is not set.")
    try:
        stripe.WebhookSignature.verify_header(
            payload, signature, settings.STRIPE_WEBHOOK_SECRET, stripe.Webhook.DEFAULT_TOLERANCE
        )
    except (ValueError, stripe.SignatureVerificationError) as exc:
        raise WebhookSignatureInvalid(str(exc)) from exc
    try:
        # Verified: the raw JSON is what Stripe sent, without the SDK's Decimal conversions.
        data = json.loads(payload)
    except ValueError as exc:
        raise WebhookEventMalformed("The event is not JSON.") from exc
    return event_from(data)


def event_from(data: Any) -> WebhookEvent:
    """An event as Stripe sent it (a webhook's body, an item of the events list), checked."""
    # Signed is not the same as well-formed: every field relied on is checked.
    if not isinstance(data, dict):
        raise WebhookEventMalformed("The event is not a JSON object.")
    event_id, event_type = data.get("id"), data.get("type")
    if not isinstance(event_id, str) or not event_id or not isinstance(event_type, str):
        raise WebhookEventMalformed("The event has no id or no type.")
    inner = data.get("data")
    obj = inner.get("object") if isinstance(inner, dict) else None
    if not isinstance(obj, dict):
        raise WebhookEventMalformed(
            "The event has no data.object.", event_id=event_id, event_type=event_type, payload=data
        )
    return WebhookEvent(id=event_id, type=event_type, object=obj, payload=data)


# --- Fan funding: save a card now, charge it off session at the deadline ------------


@dataclass(frozen=True, slots=True)
class SetupSession:
    id: str
    url: str | None
    status: str | None  # open, complete, expired
    setup_intent: str | None
    customer: str | None
    metadata: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class SavedCard:
    setup_intent: str
    status: str  # succeeded once the card is saved
    payment_method: str | None
    customer: str | None


@dataclass(frozen=True, slots=True)
class OffSessionCharge:
    """What Stripe answered an off-session charge: paid, or why not (never an exception)."""

    payment_intent: str | None
    status: str  # succeeded, processing, requires_action, requires_payment_method, failed
    charge: str | None
    amount: int | None
    currency: str | None
    code: str  # authentication_required, card_declined, ... or ""
    message: str


def is_setup_session(obj: Mapping[str, Any]) -> bool:
    """A Checkout Session that saves a card (mode=setup) rather than taking a payment."""
    return obj.get("object") == "checkout.session" and obj.get("mode") == "setup"


def setup_session_from(obj: Any) -> SetupSession:
    obj = _as_dict(obj)
    session_id = obj.get("id")
    if not isinstance(session_id, str) or not session_id:
        raise MalformedObject("A Checkout Session without an id.")
    metadata = metadata_of(obj)
    return SetupSession(
        id=session_id,
        url=obj.get("url"),
        status=obj.get("status"),
        setup_intent=object_id(obj.get("setup_intent")),
        customer=object_id(obj.get("customer")),
        metadata=metadata,
    )


def customer_create(*, email: str, idempotency_key: str) -> str:
    """A platform Customer to keep a backer's saved card on."""
    try:
        customer = _client().v1.customers.create(
            {"email": email}, {"idempotency_key": idempotency_key}
        )
    except stripe.StripeError as exc:
        raise _wrap(exc) from exc
    return customer.id


def setup_session_create(
    *,
    customer: str,
    currency: str,
    pledge_public_id: str,
    terms: str,
    success_url: str,
    cancel_url: str,
    idempotency_key: str,
) -> SetupSession:
    """A hosted page that saves a card for a later off-session charge (mode=setup)."""
    metadata = {"pledge": pledge_public_id}
    params: dict[str, Any] = {
        "mode": "setup",
        "currency": currency.lower(),
        "customer": customer,
        "payment_method_types": ["card"],
        "client_reference_id": pledge_public_id,
        "metadata": metadata,
        "setup_intent_data": {"metadata": metadata},
        # The terms of the later charge, shown above the button the backer agrees with.
        "custom_text": {"submit": {"message": terms[:1200]}},
        "success_url": success_url,
        "cancel_url": cancel_url,
    }
    try:
        session = _client().v1.checkout.sessions.create(
            params,  # type: ignore[arg-type]
            {"idempotency_key": idempotency_key},
        )
    except stripe.StripeError as exc:
        raise _wrap(exc) from exc
    return setup_session_from(session)


def setup_session_retrieve(session_id: str) -> SetupSession:
    try:
        return setup_session_from(_client().v1.checkout.sessions.retrieve(session_id))
    except stripe.StripeError as exc:
        raise _wrap(exc) from exc


def setup_intent_retrieve(setup_intent_id: str) -> SavedCard:
    """The card a setup session saved (its PaymentMethod and Customer)."""
    try:
        intent = _as_dict(_client().v1.setup_intents.retrieve(setup_intent_id))
    except stripe.StripeError as exc:
        raise _wrap(exc) from exc
    return SavedCard(
        setup_intent=setup_intent_id,
        status=str(intent.get("status") or ""),
        payment_method=object_id(intent.get("payment_method")),
        customer=object_id(intent.get("customer")),
    )


def off_session_charge_from(obj: Any, *, code: str = "", message: str = "") -> OffSessionCharge:
    obj = _as_dict(obj)
    error = obj.get("last_payment_error")
    if not code and isinstance(error, dict) and obj.get("status") != "succeeded":
        code = str(error.get("code") or error.get("decline_code") or "")
        message = str(error.get("message") or "")
    return OffSessionCharge(
        payment_intent=object_id(obj.get("id")),
        status=str(obj.get("status") or "failed"),
        charge=object_id(obj.get("latest_charge")),
        amount=minor_units(obj.get("amount")),
        currency=currency_code(obj.get("currency")),
        code=code,
        message=message,
    )


def _error_body(exc: stripe.StripeError) -> dict[str, Any]:
    """The ``error`` object of Stripe's answer (it may carry the PaymentIntent)."""
    body = exc.json_body if isinstance(exc.json_body, dict) else {}
    error = body.get("error")
    return error if isinstance(error, dict) else {}


def payment_intent_off_session(
    *,
    amount: int,
    currency: str,
    customer: str,
    payment_method: str,
    idempotency_key: str,
    metadata: Mapping[str, str],
    transfer_group: str,
) -> OffSessionCharge:
    """Charge a saved card with the backer away (``off_session``, confirmed at once).

    A decline or an issuer asking for authentication is an answer, not an error:
    Stripe sends it as a card error carrying the PaymentIntent.
    """
    params: dict[str, Any] = {
        "amount": amount,
        "currency": currency.lower(),
        "customer": customer,
        "payment_method": payment_method,
        "off_session": True,
        "confirm": True,
        "metadata": dict(metadata),
        "transfer_group": transfer_group,
    }
    try:
        intent = _client().v1.payment_intents.create(
            params,  # type: ignore[arg-type]
            {"idempotency_key": idempotency_key},
        )
    except stripe.CardError as exc:
        error = _error_body(exc)
        code = str(error.get("code") or exc.code or "card_declined")
        message = str(error.get("message") or exc.user_message or "The card was declined.")
        intent_obj = error.get("payment_intent")
        if isinstance(intent_obj, dict):
            return off_session_charge_from(intent_obj, code=code, message=message)
        return OffSessionCharge(None, "failed", None, None, None, code, message)
    except stripe.StripeError as exc:
        raise _wrap(exc) from exc
    return off_session_charge_from(intent)


def payment_intent_cancel(
    payment_intent_id: str, *, idempotency_key: str
) -> OffSessionCharge | None:
    """Cancel a PaymentIntent that failed, so it can never be confirmed and charge later.

    None once it is cancelled (now or before); when Stripe refuses because it is no
    longer cancellable (it succeeded, or is processing), what it is now.
    """
    try:
        _client().v1.payment_intents.cancel(
            payment_intent_id,
            {"cancellation_reason": "abandoned"},
            {"idempotency_key": idempotency_key},
        )
    except stripe.InvalidRequestError as exc:
        intent = _error_body(exc).get("payment_intent")
        if not isinstance(intent, dict):
            raise _wrap(exc) from exc
        state = off_session_charge_from(intent)
        return None if state.status == "canceled" else state
    except stripe.StripeError as exc:
        raise _wrap(exc) from exc
    return None


def events_since(*, since: int, types: Sequence[str]) -> Iterator[WebhookEvent]:
    """Stripe's own record of the events of ``types`` created at or after ``since``.

    What ``payments_reconcile`` compares with the events received: Stripe keeps
    30 days of them, whether or not a webhook delivered them.
    """
    try:
        page = _client().v1.events.list(
            {"types": list(types), "created": {"gte": since}, "limit": 100}
        )
        for item in page.auto_paging_iter():
            data = json.loads(json.dumps(plain(item)))
            try:
                yield event_from(data)
            except WebhookEventMalformed as exc:
                log.warning("Stripe listed an event that cannot be read: %s", exc)
    except stripe.StripeError as exc:
        raise _wrap(exc) from exc
