"""Stripe without Stripe: the SDK's HTTP requests answered with Stripe's own example objects.

Every response starts from the matching resource in Stripe's published
``fixtures3.json`` (``../shared/stripe/``), altered only in the fields a test
is about (ids, amounts, metadata, status). Webhook events are signed with the
real scheme (``t=<ts>,v1=<HMAC-SHA256 of "<ts>.<payload>">``), so
``stripe.Webhook.construct_event`` checks them exactly as in production.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import itertools
import json
import re
import time
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import stripe
from django.db import connections

from shop.payments.stripe_api import API_VERSION

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "stripe" / "fixtures3.json"
WEBHOOK_SECRET = "whsec_test_secret_for_the_suite"


@cache
def _resources() -> dict[str, Any]:
    if not FIXTURES.exists():
        pytest.skip(f"Stripe's example objects are missing: {FIXTURES}")
    return json.loads(FIXTURES.read_text())["resources"]


def _merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict) and value:
            _merge(base[key], value)
        else:
            base[key] = value
    return base


def fixture(resource: str, **changes: Any) -> dict[str, Any]:
    """Stripe's example ``resource`` with ``changes`` applied (nested dicts merge)."""
    return _merge(copy.deepcopy(_resources()[resource]), changes)


def sign(payload: str, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def post_event(
    client: Any, event: dict[str, Any], *, signature: str | None = None, raw: str | None = None
) -> Any:
    """POST an event to the webhook endpoint, signed like Stripe signs it."""
    payload = raw if raw is not None else json.dumps(event)
    return client.post(
        "/stripe/webhook/",
        data=payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=signature if signature is not None else sign(payload),
    )


_ids = itertools.count(1)


def event(type_: str, obj: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
    return fixture(
        "event",
        id=event_id or f"evt_test_{next(_ids)}",
        type=type_,
        api_version=API_VERSION,
        created=int(time.time()),
        data={"object": obj, "previous_attributes": None},
    )


def unflatten_params(flat: dict[str, str]) -> dict[str, Any]:
    """Stripe form encoding (``a[b][0][c]=1``) back into nested dicts and lists."""
    root: dict[str, Any] = {}
    for key, value in flat.items():
        parts = re.findall(r"[^\[\]]+", key)
        node: Any = root
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, {})
    return _listify(root)


def _listify(node: Any) -> Any:
    if isinstance(node, dict):
        if node and all(k.isdigit() for k in node):
            return [_listify(node[k]) for k in sorted(node, key=int)]
        return {k: _listify(v) for k, v in node.items()}
    return node


def _open_transactions() -> int:
    """Transactions open on any connection, not counting the test case's own."""
    return sum(
        1
        for conn in connections.all(initialized_only=True)
        for block in conn.atomic_blocks
        if not getattr(block, "_from_testcase", False)
    )


class FakeStripe(stripe.HTTPClient):
    """Answers the API paths the project uses; records every call for assertions."""

    name = "fake"

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, str, dict[str, Any], dict[str, str]]] = []
        self.sessions: dict[str, dict[str, Any]] = {}
        self.accounts: dict[str, dict[str, Any]] = {}
        self.charges: dict[str, str] = {}  # payment intent -> charge
        self.fail: dict[str, tuple[int, str]] = {}  # path prefix -> (status, message)
        self.replies: dict[str, str] = {}  # idempotency key -> the first reply, as Stripe does
        self.reply_status: dict[str, int] = {}  # ... and its status (a card error replays too)
        self.setup_intents: dict[str, dict[str, Any]] = {}
        self.intents: dict[str, dict[str, Any]] = {}  # PaymentIntents created (not replays)
        # A saved card's answer when charged off session: a card error code, or absent: paid.
        self.card_errors: dict[str, str] = {}
        self.inside_transaction: list[str] = []  # calls made with a transaction open
        self.events: list[dict[str, Any]] = []  # what GET /v1/events lists, newest first
        self.line_params: dict[str, list[dict[str, Any]]] = {}  # session -> line_items sent
        self.line_items: dict[str, list[dict[str, Any]]] = {}  # session -> taxed line items
        self.card_countries: dict[str, str] = {}  # charge -> the card's issuing country
        self.routes: list[tuple[str, re.Pattern[str], Callable[..., dict[str, Any]]]] = [
            ("POST", re.compile(r"^/v1/checkout/sessions$"), self._session_create),
            ("GET", re.compile(r"^/v1/checkout/sessions$"), self._session_list),
            ("GET", re.compile(r"^/v1/checkout/sessions/(?P<id>[^/]+)$"), self._session_get),
            (
                "POST",
                re.compile(r"^/v1/checkout/sessions/(?P<id>[^/]+)/expire$"),
                self._session_expire,
            ),
            (
                "GET",
                re.compile(r"^/v1/checkout/sessions/(?P<id>[^/]+)/line_items$"),
                self._line_items_list,
            ),
            ("GET", re.compile(r"^/v1/payment_intents/(?P<id>[^/]+)$"), self._intent_get),
            ("POST", re.compile(r"^/v1/payment_intents$"), self._intent_create),
            (
                "POST",
                re.compile(r"^/v1/payment_intents/(?P<id>[^/]+)/cancel$"),
                self._intent_cancel,
            ),
            ("POST", re.compile(r"^/v1/customers$"), self._customer_create),
            ("GET", re.compile(r"^/v1/setup_intents/(?P<id>[^/]+)$"), self._setup_intent_get),
            ("POST", re.compile(r"^/v1/refunds$"), self._refund_create),
            ("POST", re.compile(r"^/v1/transfers$"), self._transfer_create),
            ("POST", re.compile(r"^/v1/accounts$"), self._account_create),
            ("GET", re.compile(r"^/v1/accounts/(?P<id>[^/]+)$"), self._account_get),
            ("POST", re.compile(r"^/v1/account_links$"), self._account_link_create),
            ("GET", re.compile(r"^/v1/events$"), self._event_list),
        ]

    # --- the HTTPClient interface -------------------------------------------------

    def request(self, method, url, headers, post_data=None, *, _usage=None):  # type: ignore[no-untyped-def]
        parts = urlsplit(url)
        flat = dict(parse_qsl(post_data or parts.query, keep_blank_values=True))
        params = unflatten_params(flat)
        self.calls.append((method.upper(), parts.path, params, dict(headers or {})))
        if _open_transactions():
            # A lock held across a round trip to Stripe (on SQLite: the whole database's).
            self.inside_transaction.append(f"{method.upper()} {parts.path}")
        for prefix, (status, message) in self.fail.items():
            if parts.path.startswith(prefix):
                body = {"error": {"type": "invalid_request_error", "message": message}}
                return json.dumps(body), status, {}
        key = (headers or {}).get("Idempotency-Key")
        if key and key in self.replies:
            return self.replies[key], self.reply_status.get(key, 200), {}
        for verb, pattern, handler in self.routes:
            match = pattern.match(parts.path)
            if verb == method.upper() and match:
                answer = handler(params, **match.groupdict())
                status = 200
                if isinstance(answer, tuple):  # (status, body): an error Stripe would send
                    status, answer = answer
                reply = json.dumps(answer)
                if key:
                    self.replies[key] = reply
                    self.reply_status[key] = status
                return reply, status, {}
        body = {
            "error": {
                "type": "invalid_request_error",
                "message": f"No fake for {method} {parts.path}",
            }
        }
        return json.dumps(body), 404, {}

    def close(self) -> None:
        pass

    # --- helpers for tests --------------------------------------------------------

    def called(self, method: str, path: str) -> list[dict[str, Any]]:
        return [params for m, p, params, _ in self.calls if m == method and p == path]

    def complete(self, session_id: str, *, paid: bool = True) -> dict[str, Any]:
        """What the buyer does on Stripe's page: the session is complete (and paid)."""
        session = self.sessions[session_id]
        intent = f"pi_test_{next(_ids)}"
        self.charges[intent] = f"ch_test_{next(_ids)}"
        session.update(
            status="complete",
            payment_status="paid" if paid else "unpaid",
            payment_intent=intent,
        )
        return copy.deepcopy(session)

    def charge_for(self, session_id: str, **changes: Any) -> dict[str, Any]:
        session = self.sessions[session_id]
        intent = session["payment_intent"]
        fields = {
            "id": self.charges[intent],
            "payment_intent": intent,
            "amount": session["amount_total"],
            "currency": session["currency"],
            "metadata": {},
        }
        return fixture("charge", **{**fields, **changes})

    def apply_tax(
        self,
        session_id: str,
        *,
        country: str,
        percent: dict[int, float] | float,
        reason: str = "standard_rated",
        tax_ids: list[tuple[str, str]] = (),  # type: ignore[assignment]
    ) -> dict[str, Any]:
        """What Stripe Tax does to an open session once the buyer's address is known.

        Each line's VAT is computed as Stripe rounds it (to the minor unit, per line):
        on top of an ``exclusive`` price, or out of an ``inclusive`` one. ``percent``
        is one rate, or one per product id (a cart of an ebook and an album).
        """
        session = self.sessions[session_id]
        items, total, total_tax = [], 0, 0
        for index, line in enumerate(self.line_params[session_id]):
            price = line["price_data"]
            amount = int(price["unit_amount"])
            product_id = int(price["product_data"]["metadata"]["product"])
            rate = percent if isinstance(percent, int | float) else percent[product_id]
            if reason == "reverse_charge":
                tax = 0
            elif price.get("tax_behavior") == "exclusive":
                tax = round(amount * rate / 100)
            else:
                tax = amount - round(amount * 100 / (100 + rate))
            line_total = amount + (tax if price.get("tax_behavior") == "exclusive" else 0)
            tax_rate = fixture(
                "tax_rate",
                id=f"txr_test_{next(_ids)}",
                country=country,
                jurisdiction=country,
                percentage=0 if reason == "reverse_charge" else rate,
                inclusive=price.get("tax_behavior") == "inclusive",
                display_name="VAT",
                description=f"VAT {country}",
            )
            items.append(
                fixture(
                    "item",
                    id=f"li_test_{next(_ids)}_{index}",
                    description=price["product_data"]["name"],
                    currency=price["currency"],
                    amount_subtotal=amount,
                    amount_discount=0,
                    amount_tax=tax,
                    amount_total=line_total,
                    price={
                        "unit_amount": amount,
                        "unit_amount_decimal": str(amount),
                        "currency": price["currency"],
                        "tax_behavior": price.get("tax_behavior", "unspecified"),
                        "recurring": None,
                        "type": "one_time",
                        "product": fixture(
                            "product",
                            id=f"prod_test_{next(_ids)}",
                            name=price["product_data"]["name"],
                            metadata=price["product_data"]["metadata"],
                            tax_code=price["product_data"].get("tax_code"),
                        ),
                    },
                    taxes=[
                        {
                            "amount": tax,
                            "rate": tax_rate,
                            "taxability_reason": reason,
                            "taxable_amount": line_total - tax,
                        }
                    ],
                )
            )
            total += line_total
            total_tax += tax
        self.line_items[session_id] = items
        session["amount_total"] = total
        session["automatic_tax"] = {"enabled": True, "status": "complete", "liability": None}
        session["total_details"] = {
            "amount_discount": 0,
            "amount_shipping": 0,
            "amount_tax": total_tax,
        }
        session["customer_details"]["address"]["country"] = country
        session["customer_details"]["tax_ids"] = [
            {"type": kind, "value": value} for kind, value in tax_ids
        ] or None
        return copy.deepcopy(session)

    # --- handlers -----------------------------------------------------------------

    def _line_items_list(self, params: dict[str, Any], id: str) -> dict[str, Any]:
        data = self.line_items.get(id)
        if data is None:
            data = [
                fixture(
                    "item",
                    id=f"li_test_{next(_ids)}",
                    amount_subtotal=int(line["price_data"]["unit_amount"]),
                    amount_tax=0,
                    amount_total=int(line["price_data"]["unit_amount"]),
                    price={
                        "product": fixture(
                            "product", metadata=line["price_data"]["product_data"]["metadata"]
                        )
                    },
                )
                for line in self.line_params.get(id, [])
            ]
        return {
            "object": "list",
            "data": data,
            "has_more": False,
            "url": f"/v1/checkout/sessions/{id}/line_items",
        }

    def complete_setup(
        self, session_id: str, *, payment_method: str | None = None
    ) -> dict[str, Any]:
        """What the backer does on Stripe's page in setup mode: a card saved on the Customer."""
        session = self.sessions[session_id]
        intent_id = f"seti_test_{next(_ids)}"
        self.setup_intents[intent_id] = fixture(
            "setup_intent",
            id=intent_id,
            status="succeeded",
            customer=session["customer"],
            payment_method=payment_method or f"pm_test_{next(_ids)}",
            metadata=session.get("metadata", {}),
            last_setup_error=None,
            next_action=None,
            usage="off_session",
        )
        session.update(status="complete", setup_intent=intent_id)
        return copy.deepcopy(session)

    def _session_create(self, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("mode") == "setup":
            return self._setup_session_create(params)
        session_id = f"cs_test_{next(_ids)}"
        items = params.get("line_items", [])
        total = sum(int(i["price_data"]["unit_amount"]) * int(i.get("quantity", 1)) for i in items)
        session = fixture(
            "checkout.session",
            id=session_id,
            url=f"https://checkout.stripe.com/c/pay/{session_id}",
            status="open",
            payment_status="unpaid",
            payment_intent=None,
            amount_total=total,
            amount_subtotal=total,
            # Untaxed until the buyer's address is known (``apply_tax``).
            total_details={"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
            automatic_tax={
                "enabled": params.get("automatic_tax", {}).get("enabled") == "true",
                "status": None,
            },
            currency=items[0]["price_data"]["currency"] if items else "eur",
            customer_email=params.get("customer_email"),
            client_reference_id=params.get("client_reference_id"),
            metadata=params.get("metadata", {}),
            success_url=params.get("success_url"),
            cancel_url=params.get("cancel_url"),
        )
        self.sessions[session_id] = session
        self.line_params[session_id] = items
        return session

    def _setup_session_create(self, params: dict[str, Any]) -> dict[str, Any]:
        session_id = f"cs_test_{next(_ids)}"
        session = fixture(
            "checkout.session",
            id=session_id,
            mode="setup",
            url=f"https://checkout.stripe.com/c/pay/{session_id}",
            status="open",
            payment_status="no_payment_required",
            payment_intent=None,
            setup_intent=None,
            amount_total=None,
            amount_subtotal=None,
            currency=params.get("currency"),
            customer=params.get("customer"),
            customer_email=None,
            client_reference_id=params.get("client_reference_id"),
            metadata=params.get("metadata", {}),
            success_url=params.get("success_url"),
            cancel_url=params.get("cancel_url"),
        )
        self.sessions[session_id] = session
        return session

    def _customer_create(self, params: dict[str, Any]) -> dict[str, Any]:
        return fixture("customer", id=f"cus_test{next(_ids)}", email=params.get("email"))

    def _setup_intent_get(self, params: dict[str, Any], id: str) -> dict[str, Any]:
        return self.setup_intents[id]

    def _intent_create(self, params: dict[str, Any]) -> Any:
        """An off-session charge of a saved card: paid, or the card error Stripe sends."""
        intent_id = f"pi_test_{next(_ids)}"
        charge_id = f"ch_test_{next(_ids)}"
        code = self.card_errors.get(params.get("payment_method", ""))
        intent = fixture(
            "payment_intent",
            id=intent_id,
            amount=int(params["amount"]),
            amount_received=0 if code else int(params["amount"]),
            currency=params["currency"],
            customer=params.get("customer"),
            payment_method=params.get("payment_method"),
            metadata=params.get("metadata", {}),
            transfer_group=params.get("transfer_group"),
            latest_charge=None if code else charge_id,
            status="requires_payment_method" if code else "succeeded",
            last_payment_error=None,
            next_action=None,
            canceled_at=None,
            transfer_data=None,
        )
        self.intents[intent_id] = intent
        if code is None:
            self.charges[intent_id] = charge_id
            return intent
        intent["last_payment_error"] = {"type": "card_error", "code": code, "message": code}
        error = {
            "type": "card_error",
            "code": code,
            "decline_code": "generic_decline" if code == "card_declined" else None,
            "message": "Your card was declined."
            if code == "card_declined"
            else "This payment requires authentication.",
            "payment_intent": intent,
        }
        return 402, {"error": error}

    def _intent_cancel(self, params: dict[str, Any], id: str) -> Any:
        """Stripe cancels an intent that has not succeeded; otherwise says why not."""
        intent = self.intents[id]
        if intent["status"] in ("succeeded", "processing"):
            error = {
                "type": "invalid_request_error",
                "code": "payment_intent_unexpected_state",
                "message": f"This PaymentIntent's status is {intent['status']}.",
                "payment_intent": intent,
            }
            return 400, {"error": error}
        intent.update(
            status="canceled",
            canceled_at=int(time.time()),
            cancellation_reason=params.get("cancellation_reason"),
        )
        return intent

    def _session_expire(self, params: dict[str, Any], id: str) -> Any:
        """Only an open session can be expired; Stripe refuses the others."""
        session = self.sessions[id]
        if session["status"] != "open":
            message = "Only Checkout Sessions with a status in [open] can be expired."
            return 400, {"error": {"type": "invalid_request_error", "message": message}}
        session["status"] = "expired"
        return session

    def _session_get(self, params: dict[str, Any], id: str) -> dict[str, Any]:
        return self.sessions[id]

    def _session_list(self, params: dict[str, Any]) -> dict[str, Any]:
        data = [
            s
            for s in self.sessions.values()
            if s["status"] == params.get("status", s["status"])
            and s["payment_intent"] == params.get("payment_intent", s["payment_intent"])
        ]
        return {"object": "list", "data": data, "has_more": False, "url": "/v1/checkout/sessions"}

    def _event_list(self, params: dict[str, Any]) -> dict[str, Any]:
        types = params.get("types") or [params.get("type")]
        since = int(params.get("created", {}).get("gte", 0))
        data = [
            e
            for e in self.events
            if (types == [None] or e["type"] in types) and int(e["created"]) >= since
        ]
        return {"object": "list", "data": data, "has_more": False, "url": "/v1/events"}

    def _intent_get(self, params: dict[str, Any], id: str) -> dict[str, Any]:
        charge: Any = self.charges.get(id)
        if charge and "latest_charge" in (params.get("expand") or []):
            card = {"country": self.card_countries.get(charge, "US")}
            charge = fixture(
                "charge",
                id=charge,
                payment_intent=id,
                payment_method_details={"type": "card", "card": card},
            )
        return fixture("payment_intent", id=id, status="succeeded", latest_charge=charge)

    def _refund_create(self, params: dict[str, Any]) -> dict[str, Any]:
        return fixture(
            "refund",
            id=f"re_test_{next(_ids)}",
            amount=int(params["amount"]),
            payment_intent=params.get("payment_intent"),
            charge=self.charges.get(params.get("payment_intent", "")),
            metadata=params.get("metadata", {}),
            status="succeeded",
        )

    def _transfer_create(self, params: dict[str, Any]) -> dict[str, Any]:
        return fixture(
            "transfer",
            id=f"tr_test_{next(_ids)}",
            amount=int(params["amount"]),
            currency=params["currency"],
            destination=params["destination"],
            transfer_group=params.get("transfer_group"),
            source_transaction=params.get("source_transaction"),
        )

    def _account_create(self, params: dict[str, Any]) -> dict[str, Any]:
        account = fixture(
            "account",
            id=f"acct_test{next(_ids)}",
            email=params.get("email"),
            details_submitted=False,
            charges_enabled=False,
            payouts_enabled=False,
        )
        self.accounts[account["id"]] = account
        return account

    def _account_get(self, params: dict[str, Any], id: str) -> dict[str, Any]:
        return self.accounts[id]

    def _account_link_create(self, params: dict[str, Any]) -> dict[str, Any]:
        return fixture(
            "account_link",
            url=f"https://connect.stripe.com/setup/e/{params['account']}/test",
        )
