"""Writes for commerce: creating orders, paying, failing and refunding them exactly once."""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import F, Prefetch, Q, prefetch_related_objects
from django.utils import timezone, translation
from django.utils.translation import gettext, gettext_noop

from catalog.accounts import email_normalize
from catalog.attribution import Attribution
from catalog.l10n import language_or_default
from catalog.models import Product
from catalog.money import (
    AmountError,
    amount_max_minor,
    format_money,
    parse_amount,
    parse_percent,
    to_decimal_string,
)
from catalog.outbox.services import Promise, outbox_add, outbox_add_new
from catalog.seller_events import seller_event
from delivery.licenses.services import license_issue
from delivery.services import Grant, entitlement_revoke, entitlements_grant
from shop import ledger
from shop import tax as tax_rules
from shop.invoices import invoice_issue
from shop.models import DiscountCode, Order, OrderItem, Refund
from shop.tasks import send_receipt, send_sale_notification

CHECKOUT_KEY = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
# Ceilings of what a seller types into a discount code.
DISCOUNT_MAX_USES = 1_000_000
DISCOUNT_MAX_DAYS = 10 * 366
MAX_PRODUCTS_PER_CODE = 1000


class FieldError(Exception):
    """Input a person can fix; ``field`` names the form field it belongs to."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class CheckoutError(FieldError):
    """A cart or checkout form that cannot become an order as it is."""


class DiscountCodeError(FieldError):
    """A discount code a seller cannot create as typed."""


class CheckoutReplayed(Exception):
    """The checkout form was submitted before; ``order`` is what it created."""

    def __init__(self, order: Order) -> None:
        super().__init__(f"checkout key already used by {order.public_id}")
        self.order = order


class OrderStateError(Exception):
    """The order's state forbids the transition (paying a failed order, say)."""


class RefundError(Exception):
    """A refund that cannot be made; the message says why."""


@dataclass(frozen=True, slots=True)
class OrderLine:
    product: Product
    offered: str | None = None


@dataclass(frozen=True, slots=True)
class PricedLine:
    product: Product
    list_price: int
    discount_amount: int
    discount_code: DiscountCode | None

    @property
    def unit_price(self) -> int:
        return self.list_price - self.discount_amount


def checkout_key_new() -> str:
    return secrets.token_urlsafe(24)


def platform_fee_for(amount: int) -> int:
    if amount <= 0:
        return 0
    fee = amount * settings.PLATFORM_FEE_BASIS_POINTS // 10_000 + settings.PLATFORM_FEE_FIXED
    return min(fee, amount)


def price_for(*, product: Product, offered: str | None) -> int:
    """What the buyer pays for one product before discounts, decided here and nowhere else."""
    if product.pricing == Product.Pricing.FREE:
        return 0
    if product.pricing == Product.Pricing.FIXED:
        return product.price
    # Pay what you want: the typed amount, never below the minimum.
    if offered is None or not offered.strip():
        raise CheckoutError(
            gettext("Enter the amount you want to pay for “%(title)s”.") % {"title": product.title},
            "amount",
        )
    try:
        amount = parse_amount(offered, product.currency)
    except AmountError as exc:
        raise CheckoutError(str(exc), "amount") from None
    if amount < product.price:
        raise CheckoutError(
            gettext("The minimum price of “%(title)s” is %(format_money)s.")
            % {
                "title": product.title,
                "format_money": format_money(product.price, product.currency),
            },
            "amount",
        )
    return amount


def discount_codes_for(*, code: str, products: Sequence[Product]) -> dict[int, DiscountCode]:
    """The live codes spelled ``code`` of the sellers in the cart, by seller id."""
    code = code.strip()
    if not code:
        return {}
    sellers = {product.seller_id for product in products}
    found = {
        d.seller_id: d
        for d in DiscountCode.objects.filter(
            seller_id__in=sellers, code__iexact=code
        ).prefetch_related("products")
    }
    if not found:
        raise CheckoutError(
            gettext("“%(code)s” is not a discount code for these products.") % {"code": code},
            "code",
        )
    live = {
        seller: d
        for seller, d in found.items()
        if d.active
        and (d.expires_at is None or d.expires_at > timezone.now())
        and (d.max_uses is None or d.used_count < d.max_uses)
    }
    if not live:
        any_code = next(iter(found.values()))
        if any_code.expires_at is not None and any_code.expires_at <= timezone.now():
            raise CheckoutError(
                gettext("The code “%(code)s” has expired.") % {"code": code}, "code"
            )
        raise CheckoutError(
            gettext("The code “%(code)s” has been used up.") % {"code": code}, "code"
        )
    return live


def _discount(code: DiscountCode, product: Product, price: int) -> int:
    scoped = {p.pk for p in code.products.all()}
    if price == 0 or product.pricing != Product.Pricing.FIXED:
        return 0  # codes take money off fixed prices; a chosen price is the buyer's own
    if scoped and product.pk not in scoped:
        return 0
    if code.kind == DiscountCode.Kind.PERCENT:
        return min(price, (price * code.value + 5_000) // 10_000)
    return min(price, code.value)


def lines_price(*, lines: Sequence[OrderLine], code: str = "") -> list[PricedLine]:
    """Price a cart on the server: list prices, then the discount code, per line."""
    if not lines:
        raise CheckoutError(gettext("Your cart is empty."))
    currency = settings.STORE_CURRENCY
    for line in lines:
        if not line.product.is_buyable:
            raise CheckoutError(
                gettext("“%(title)s” is no longer on sale; remove it.")
                % {"title": line.product.title}
            )
        if line.product.currency != currency:
            raise CheckoutError(
                gettext("“%(title)s” is priced in %(currency)s; this shop sells in %(currency2)s.")
                % {
                    "title": line.product.title,
                    "currency": line.product.currency,
                    "currency2": currency,
                }
            )
    codes = discount_codes_for(code=code, products=[line.product for line in lines])
    priced = []
    for line in lines:
        list_price = price_for(product=line.product, offered=line.offered)
        applied = codes.get(line.product.seller_id)
        off = _discount(applied, line.product, list_price) if applied else 0
        priced.append(PricedLine(line.product, list_price, off, applied if off else None))
    if codes and not any(p.discount_code for p in priced):
        raise CheckoutError(
            gettext("The code “%(strip)s” does not apply to these products.")
            % {"strip": code.strip()},
            "code",
        )
    ceiling = amount_max_minor()
    if sum(p.unit_price for p in priced) > ceiling:
        # The provider charges an order at once: its total has the same ceiling as one amount.
        raise CheckoutError(
            gettext(
                "One order can come to at most %(format_money)s: buy these products in two orders."
            )
            % {"format_money": format_money(ceiling, currency)}
        )
    return priced


def _use_codes(codes: Iterable[DiscountCode]) -> None:
    for code in {c.pk: c for c in codes}.values():
        used = (
            DiscountCode.objects.filter(pk=code.pk, active=True)
            .filter(Q(max_uses__isnull=True) | Q(used_count__lt=F("max_uses")))
            .update(used_count=F("used_count") + 1)
        )
        if not used:
            # Another buyer took the last use between pricing and now.
            raise CheckoutError(
                gettext("The code “%(code)s” has been used up.") % {"code": code.code}, "code"
            )


def _release_codes(order: Order) -> None:
    codes = {item.discount_code_id for item in order.items.all() if item.discount_code_id}
    DiscountCode.objects.filter(pk__in=codes, used_count__gt=0).update(
        used_count=F("used_count") - 1
    )


def order_create(
    *,
    lines: Sequence[OrderLine],
    email: str,
    checkout_key: str,
    code: str = "",
    user: AbstractBaseUser | AnonymousUser | None = None,
    provider: str,
    attribution: Attribution | None = None,
    language: str | None = None,
) -> Order:
    """Create a pending order from priced lines; an order that costs nothing is paid at once.

    ``language`` (by default the active one, the buyer's) is the receipt's."""
    attribution = attribution or Attribution()
    if not CHECKOUT_KEY.match(checkout_key or ""):
        raise CheckoutError(gettext("This form has expired. Please reload the page and try again."))
    # A form sent again is found by its key only when this one cannot be an order: the
    # unique key refuses the second insert, and a refused form may be the first one's.
    try:
        order = _order_insert(
            lines=lines,
            email=email,
            checkout_key=checkout_key,
            code=code,
            user=user,
            provider=provider,
            attribution=attribution,
            language=language,
        )
    except CheckoutError:
        existing = Order.objects.filter(checkout_key=checkout_key).first()
        if existing is not None:
            raise CheckoutReplayed(existing) from None
        raise
    except IntegrityError:
        # Two submissions of one form: the other one created the order.
        raise CheckoutReplayed(Order.objects.get(checkout_key=checkout_key)) from None
    if order.total == 0:
        order = order_fulfil(order_id=order.pk, payment_id=None)
    return order


def _order_insert(
    *,
    lines: Sequence[OrderLine],
    email: str,
    checkout_key: str,
    code: str,
    user: AbstractBaseUser | AnonymousUser | None,
    provider: str,
    attribution: Attribution,
    language: str | None,
) -> Order:
    email = email_normalize(email or "")
    try:
        validate_email(email)
    except ValidationError:
        raise CheckoutError(
            gettext("Enter a valid email address, like name@example.com."), "email"
        ) from None
    priced = lines_price(lines=lines, code=code)
    subtotal = sum(p.list_price for p in priced)
    total = sum(p.unit_price for p in priced)
    with transaction.atomic():
        _use_codes(p.discount_code for p in priced if p.discount_code)
        order = Order.objects.create(
            buyer_email=email,
            buyer_id=user.pk if user is not None and user.is_authenticated else None,
            currency=settings.STORE_CURRENCY,
            subtotal=subtotal,
            discount_total=subtotal - total,
            total=total,
            platform_fee=sum(platform_fee_for(p.unit_price) for p in priced),
            provider="free" if total == 0 else provider,
            checkout_key=checkout_key,
            language=language_or_default(language or translation.get_language()),
            referrer_host=attribution.ref,
            utm_source=attribution.utm_source,
            utm_campaign=attribution.utm_campaign,
        )
        OrderItem.objects.bulk_create(
            OrderItem(
                order=order,
                product=p.product,
                seller_id=p.product.seller_id,
                title=p.product.title,
                list_price=p.list_price,
                discount_amount=p.discount_amount,
                discount_code=p.discount_code,
                unit_price=p.unit_price,
                minimum_price=(
                    p.product.price if p.product.pricing == Product.Pricing.PWYW else None
                ),
                platform_fee=platform_fee_for(p.unit_price),
                tax_behavior=p.product.seller.tax_behavior,
                tax_code=tax_rules.tax_code_for(p.product.kind),
            )
            for p in priced
        )
    return order


# Orders whose buyer may start again: nothing was charged and nothing granted.
RETRYABLE = (Order.Status.FAILED, Order.Status.EXPIRED)


def order_retry(*, order_id: int, checkout_key: str, provider: str) -> Order:
    """A new order for what a failed or expired one held; the old one stays as it was.

    Prices are decided again by ``order_create`` (today's fixed prices, the amount
    typed for pay what you want, the discount code if it still applies), so
    trying again can never buy for less than a new checkout would.
    """
    old = Order.objects.prefetch_related("items__product__seller", "items__discount_code").get(
        pk=order_id
    )
    if old.status not in RETRYABLE:
        raise OrderStateError(
            gettext("This order is %(lower)s: there is nothing to try again.")
            % {"lower": old.get_status_display().lower()}
        )
    items = list(old.items.all())
    code = next((item.discount_code.code for item in items if item.discount_code), "")
    return order_create(
        lines=[
            OrderLine(item.product, to_decimal_string(item.list_price, item.product.currency))
            for item in items
        ],
        email=old.buyer_email,
        checkout_key=checkout_key,
        code=code,
        user=old.buyer,
        provider=provider,
        attribution=Attribution(
            ref=old.referrer_host, utm_source=old.utm_source, utm_campaign=old.utm_campaign
        ),
        language=old.language or None,
    )


@transaction.atomic
def order_fulfil(
    *,
    order_id: int | None = None,
    public_id: uuid.UUID | None = None,
    payment_id: str | None,
    charge_id: str | None = None,
    country: str | None = None,
    tax: tax_rules.TaxFigures | None = None,
    card_country: str | None = None,
    tax_ids: Sequence[str] = (),
) -> Order:
    """Mark an order paid and grant its entitlements; calling it again changes nothing.

    Every path that learns of a payment (webhooks, the success page, the
    reconcile command, the test provider) ends here, under a row lock; the
    order is named by its id or its ``public_id`` (``Order.DoesNotExist`` when
    there is none). ``tax`` is Stripe Tax's VAT, checked against the order by
    the caller: it is kept on the order and its items, and the platform's fee
    is taken again on each item's net amount (VAT is not revenue).

    Paying happens once per order (no order goes back to pending), so what it
    writes (entitlements, sale entries, the invoice, the outbox rows named
    after the order) is inserted without looking for an earlier copy: the
    unique constraints are the backstop (decision 95). The items are read
    once, with their products and sellers, and every step below uses them.
    """
    lookup = {"pk": order_id} if public_id is None else {"public_id": public_id}
    order = Order.objects.select_for_update().get(**lookup)
    if order.status != Order.Status.PENDING:
        if order.status == Order.Status.FAILED or order.status == Order.Status.EXPIRED:
            raise OrderStateError(
                gettext("An order that is %(lower)s cannot be paid.")
                % {"lower": order.get_status_display().lower()}
            )
        return order  # paid already, or further along (refunded, disputed)
    # The items, once: granting needs their products, the invoice their sellers.
    items_paid = OrderItem.objects.select_related("product", "seller")
    prefetch_related_objects([order], Prefetch("items", queryset=items_paid))
    order.status = Order.Status.PAID
    order.paid_at = timezone.now()
    order.provider_payment_id = payment_id or order.provider_payment_id
    order.provider_charge_id = charge_id or order.provider_charge_id
    order.country = (country or order.country or "")[:2].upper()
    order.billing_country = (country or "")[:2].upper()
    order.card_country = (card_country or "")[:2].upper()
    order.buyer_tax_ids = [str(t)[:64] for t in tax_ids][:5]
    fields = ["status", "paid_at", "provider_payment_id", "provider_charge_id", "country"]
    fields += ["billing_country", "card_country", "buyer_tax_ids"]
    if tax is not None:
        _apply_tax(order, tax)
        fields += ["tax_amount", "tax_added", "tax_country", "tax_breakdown", "reverse_charge"]
        fields += ["platform_fee"]
    order.save(update_fields=fields)
    items = list(order.items.all())
    _grant_missing(order, items)
    ledger.ledger_record_sales(order=order)
    # Numbered under the counter's lock in this transaction: no gap, never twice.
    invoice_issue(order=order)
    # Promised in this transaction, in one insert: a process that dies right after the
    # commit leaves the rows, and the clock's sweep sends them (catalog/outbox).
    promises = [Promise(send_receipt, f"order:{order.pk}:receipt", {"order_id": order.pk})]
    promises += [
        Promise(
            send_sale_notification,
            f"order:{order.pk}:sale-notice:{seller_id}",
            {"order_id": order.pk, "seller_id": seller_id},
        )
        for seller_id in sorted({item.seller_id for item in items})
    ]
    if order.provider == "stripe":
        key = f"order:{order.pk}:payout"
        promises.append(Promise(ledger.payout_order_sellers, key, {"order_id": order.pk}))
    outbox_add_new(promises)
    _tell_sellers(items, type="sale.created", key=f"sale:{order.pk}", order_id=order.pk)
    return order


def _tell_sellers(items: Iterable[OrderItem], *, type: str, key: str, **ref: int) -> None:
    """One ``seller_event`` per seller of ``items`` (their webhooks), in this transaction."""
    for seller_id in sorted({item.seller_id for item in items}):
        seller_event(type=type, seller_id=seller_id, key=f"{key}:{seller_id}", **ref)


def _refund_events(refund: Refund, items: Iterable[OrderItem]) -> None:
    _tell_sellers(items, type="refund.created", key=f"refund:{refund.pk}", refund_id=refund.pk)


def _apply_tax(order: Order, figures: tax_rules.TaxFigures) -> None:
    items = list(order.items.all())
    for item in items:
        found = figures.items.get(item.pk)
        item.tax_amount = found.amount if found else 0
        item.tax_rate = found.rate if found else None
        item.platform_fee = platform_fee_for(item.net)
    OrderItem.objects.bulk_update(items, ["tax_amount", "tax_rate", "platform_fee"])
    order.tax_amount = figures.amount
    order.tax_added = figures.added
    order.tax_country = figures.country
    order.tax_breakdown = figures.breakdown
    order.reverse_charge = figures.reverse_charge
    order.platform_fee = sum(item.platform_fee for item in items)


def _grant_missing(order: Order, items: Sequence[OrderItem] | None = None) -> int:
    """Grant the order's items that have no entitlement yet: one library, one insert."""
    if items is None:
        items = list(order.items.select_related("product"))
    # An item held for its release is granted by ``order_items_release``.
    missing = [item for item in items if item.entitlement_id is None and not item.release_held]
    if not missing:
        return 0
    granted = entitlements_grant(
        email=order.buyer_email, grants=[Grant(item.product, note=item.note) for item in missing]
    )
    for item, entitlement in zip(missing, granted, strict=True):
        item.entitlement = entitlement
    OrderItem.objects.bulk_update(missing, ["entitlement"])
    for item in missing:
        # In the payment's transaction: a key exists exactly when the purchase does.
        if item.product.license_keys:
            license_issue(entitlement=item.entitlement)  # type: ignore[arg-type]
    return len(missing)


@transaction.atomic
def order_items_release(*, order_id: int) -> int:
    """Grant a paid order's items held for release (a funded record is out); idempotent."""
    order = Order.objects.select_for_update().get(pk=order_id)
    if order.status != Order.Status.PAID:
        return 0
    order.items.filter(release_held=True).update(release_held=False)
    return _grant_missing(order)


def order_create_priced(
    *,
    product: Product,
    amount: int,
    currency: str,
    email: str,
    checkout_key: str,
    provider: str,
    note: str = "",
    release_held: bool = False,
    language: str | None = None,
) -> Order:
    """A pending one-item order whose price was decided elsewhere (a pledge, by its tier).

    It is an order like any sale (platform fee, ledger, transfers, refunds, the
    dashboard), but it skips the cart's rules: the product may be unreleased.
    """
    if amount <= 0 or amount > amount_max_minor():
        raise CheckoutError("This amount cannot be charged.")
    try:
        with transaction.atomic():
            order = Order.objects.create(
                buyer_email=email_normalize(email),
                currency=currency,
                subtotal=amount,
                total=amount,
                platform_fee=platform_fee_for(amount),
                provider=provider,
                checkout_key=checkout_key,
                language=language_or_default(language or translation.get_language()),
            )
            OrderItem.objects.create(
                order=order,
                product=product,
                seller_id=product.seller_id,
                title=product.title,
                list_price=amount,
                unit_price=amount,
                platform_fee=platform_fee_for(amount),
                tax_behavior=product.seller.tax_behavior,
                tax_code=tax_rules.tax_code_for(product.kind),
                note=note[:200],
                release_held=release_held,
            )
    except IntegrityError:
        raise CheckoutReplayed(Order.objects.get(checkout_key=checkout_key)) from None
    return order


@transaction.atomic
def order_entitlements_repair(*, order_id: int) -> int:
    """Grant what a paid order should have granted; returns how many were missing."""
    order = Order.objects.select_for_update().get(pk=order_id)
    if order.status != Order.Status.PAID:
        return 0
    granted = _grant_missing(order)
    if granted:
        # A receipt with the files that were missing, once per repair.
        repaired = order.items.filter(entitlement__isnull=False).count()
        outbox_add(send_receipt, key=f"order:{order.pk}:receipt:{repaired}", order_id=order.pk)
    return granted


@transaction.atomic
def order_fail(*, order_id: int, reason: str) -> Order:
    order = Order.objects.select_for_update().get(pk=order_id)
    if order.status == Order.Status.FAILED:
        return order
    if order.status != Order.Status.PENDING:
        raise OrderStateError(
            gettext("An order that is %(lower)s cannot fail.")
            % {"lower": order.get_status_display().lower()}
        )
    order.status = Order.Status.FAILED
    order.failure_reason = reason[:300]
    order.save(update_fields=["status", "failure_reason"])
    _release_codes(order)
    return order


@transaction.atomic
def order_expire(*, order_id: int) -> Order:
    """The buyer never paid: give back the discount code's use. A late payment still wins."""
    order = Order.objects.select_for_update().get(pk=order_id)
    if order.status == Order.Status.PENDING:
        order.status = Order.Status.EXPIRED
        order.save(update_fields=["status"])
        _release_codes(order)
    return order


def _refresh_refund_status(order: Order) -> None:
    items = list(order.items.all())
    order.refunded_amount = sum(item.refunded_amount for item in items)
    # A disputed order stays disputed: the chargeback is the larger fact.
    if order.status == Order.Status.DISPUTED:
        order.save(update_fields=["refunded_amount"])
        return
    if order.refunded_amount and order.refunded_amount >= order.gross:
        order.status = Order.Status.REFUNDED
    elif order.refunded_amount:
        order.status = Order.Status.PARTIALLY_REFUNDED
    order.save(update_fields=["refunded_amount", "status"])


def _apply_item_refund(*, item: OrderItem, amount: int, refund: Refund, reason: str) -> None:
    item.refunded_amount += amount
    item.save(update_fields=["refunded_amount"])
    ledger.ledger_record_refund(item=item, amount=amount, refund=refund)
    if item.refunded_amount >= item.gross and item.entitlement_id:
        assert item.entitlement is not None
        entitlement_revoke(entitlement=item.entitlement, reason=reason)


def _spread(amount: int, items: Sequence[OrderItem]) -> list[tuple[OrderItem, int]]:
    """Split an order-level amount over items in proportion to what is left of each."""
    room = [(item, item.refundable) for item in items if item.refundable > 0]
    total = sum(r for _, r in room)
    if total == 0:
        return []
    shares, given = [], 0
    for index, (item, left) in enumerate(room):
        share = amount - given if index == len(room) - 1 else amount * left // total
        share = min(share, left)
        shares.append((item, share))
        given += share
    return [(item, share) for item, share in shares if share > 0]


def _refund_check(item: OrderItem, order: Order, amount: int) -> None:
    if order.status not in (Order.Status.PAID, Order.Status.PARTIALLY_REFUNDED):
        raise RefundError(
            gettext("An order that is %(lower)s cannot be refunded.")
            % {"lower": order.get_status_display().lower()}
        )
    if amount <= 0:
        raise RefundError(gettext("Enter an amount above zero."))
    if amount > item.refundable:
        raise RefundError(
            gettext("At most %(format_money)s can still be refunded.")
            % {"format_money": format_money(item.refundable, order.currency)}
        )


def order_item_refund(
    *, item_id: int, amount: int, reason: str = "", by: AbstractBaseUser | None = None
) -> Refund:
    """Refund part or all of one item; a full refund revokes its download.

    Checked under the order's row lock, refunded at Stripe with no transaction
    open, then recorded under the lock again. The idempotency key is made of
    what was refunded before and the amount, so a double click makes one
    refund at Stripe and the second recording finds the first.
    """
    with transaction.atomic():
        item = OrderItem.objects.select_related("order").get(pk=item_id)
        order = Order.objects.select_for_update().get(pk=item.order_id)
        _refund_check(item, order, amount)
        refunded_before = item.refunded_amount
    provider_id = None
    if order.provider == "stripe":
        from shop.payments import stripe_api

        if not order.provider_payment_id:
            raise RefundError(gettext("This order has no Stripe payment to refund."))
        try:
            provider_id, _, _ = stripe_api.refund_create(
                payment_intent=order.provider_payment_id,
                amount=amount,
                idempotency_key=f"refund-{item.pk}-{refunded_before}-{amount}",
                metadata={"order": str(order.public_id), "item": str(item.pk)},
            )
        except stripe_api.PaymentProviderError as exc:
            raise RefundError(str(exc)) from exc
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=item.order_id)
        item = OrderItem.objects.select_related("entitlement").get(pk=item_id)
        if provider_id:
            done = Refund.objects.filter(provider_refund_id=provider_id).first()
            if done is not None:
                return done  # the same refund, recorded by the first click or its webhook
        elif item.refunded_amount != refunded_before:
            # No provider to answer for it: a concurrent refund changed the item, check again.
            _refund_check(item, order, amount)
        refund = Refund.objects.create(
            order=order,
            item=item,
            amount=amount,
            provider_refund_id=provider_id,
            reason=reason[:300],
            created_by_id=by.pk if by is not None else None,
        )
        if amount > item.refundable:
            # Stripe has given the money back already; record it and ask a person to look.
            order.flagged = True
            order.flag_reason = "Refunds of one item made at once exceed its price."
            order.save(update_fields=["flagged", "flag_reason"])
        _apply_item_refund(item=item, amount=amount, refund=refund, reason=reason or "Refunded.")
        _refresh_refund_status(order)
        _refund_events(refund, [item])
    return refund


@transaction.atomic
def order_refund_record(
    *, order_id: int, refunded_total: int, provider_refund_id: str | None, full: bool
) -> Order:
    """Bring an order in line with the provider's refunded total (from a webhook).

    Refunds made here are already recorded, so a webhook about them adds
    nothing; a refund made on Stripe's dashboard is spread over the items.
    """
    order = Order.objects.select_for_update().get(pk=order_id)
    if provider_refund_id and Refund.objects.filter(provider_refund_id=provider_refund_id).exists():
        return order
    missing = refunded_total - order.refunded_amount
    if missing <= 0:
        return order
    refund = Refund.objects.create(
        order=order,
        amount=missing,
        provider_refund_id=provider_refund_id,
        reason=gettext_noop("Refunded at the payment provider."),
    )
    items = list(order.items.select_related("entitlement"))
    spread = _spread(missing, items)
    for item, share in spread:
        _apply_item_refund(item=item, amount=share, refund=refund, reason=gettext_noop("Refunded."))
    _refund_events(refund, [item for item, _share in spread])
    if full:
        for item in items:
            if item.entitlement_id and item.entitlement is not None:
                entitlement_revoke(entitlement=item.entitlement, reason=gettext_noop("Refunded."))
    _refresh_refund_status(order)
    return order


@transaction.atomic
def order_dispute(*, order_id: int, reason: str) -> Order:
    """A chargeback: revoke every download at once and flag the order for a person."""
    order = Order.objects.select_for_update().get(pk=order_id)
    order.flagged = True
    order.flag_reason = reason[:300]
    order.status = Order.Status.DISPUTED
    order.save(update_fields=["flagged", "flag_reason", "status"])
    items = list(order.items.select_related("entitlement"))
    for item in items:
        if item.entitlement is not None:
            entitlement_revoke(
                entitlement=item.entitlement, reason=gettext_noop("The payment was disputed.")
            )
        ledger.ledger_record_dispute(item=item)
    _tell_sellers(items, type="dispute.created", key=f"dispute:{order.pk}", order_id=order.pk)
    return order


@transaction.atomic
def order_flag(*, order_id: int, reason: str) -> Order:
    """Ask a person to look at an order (shown in the admin); changes nothing else."""
    order = Order.objects.select_for_update().get(pk=order_id)
    order.flagged = True
    order.flag_reason = reason[:300]
    order.save(update_fields=["flagged", "flag_reason"])
    return order


CODE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{3,40}$")


def discount_code_create(
    *,
    seller_id: int,
    code: str,
    kind: str,
    value_text: str,
    currency: str,
    product_ids: Sequence[int] = (),
    expires_at: datetime | None = None,
    max_uses: int | None = None,
) -> DiscountCode:
    """A seller's new code; ``value_text`` is a percentage ("25") or an amount ("2.50")."""
    code = code.strip()
    if not CODE_PATTERN.match(code):
        raise DiscountCodeError(
            gettext("Use 3 to 40 letters, digits, - or _ for the code."), "code"
        )
    if DiscountCode.objects.filter(seller_id=seller_id, code__iexact=code).exists():
        raise DiscountCodeError(
            gettext("You already have a code “%(code)s”.") % {"code": code}, "code"
        )
    if kind not in DiscountCode.Kind.values:
        raise DiscountCodeError(gettext("Choose a percentage or a fixed amount."), "kind")
    try:
        if kind == DiscountCode.Kind.PERCENT:
            value = parse_percent(value_text)
        else:
            value = parse_amount(value_text, currency)
    except AmountError as exc:
        raise DiscountCodeError(str(exc), "value") from None
    if value <= 0:
        raise DiscountCodeError(gettext("The discount must be more than zero."), "value")
    if max_uses is not None and max_uses < 1:
        raise DiscountCodeError(
            gettext("Allow at least one use, or leave it empty for no limit."), "max_uses"
        )
    if max_uses is not None and max_uses > DISCOUNT_MAX_USES:
        raise DiscountCodeError(
            gettext("At most %(DISCOUNT_MAX_USES)s uses, or leave it empty for no limit.")
            % {"DISCOUNT_MAX_USES": format(DISCOUNT_MAX_USES, ",")},
            "max_uses",
        )
    if expires_at is not None and expires_at <= timezone.now():
        raise DiscountCodeError(gettext("The expiry date is in the past."), "expires_at")
    if expires_at is not None and expires_at > timezone.now() + timedelta(days=DISCOUNT_MAX_DAYS):
        raise DiscountCodeError(
            gettext("Choose an expiry date within ten years, or leave it empty for none."),
            "expires_at",
        )
    if len(product_ids) > MAX_PRODUCTS_PER_CODE:
        raise DiscountCodeError(
            gettext("Pick at most %(MAX_PRODUCTS_PER_CODE)s products, or none for all of them.")
            % {"MAX_PRODUCTS_PER_CODE": format(MAX_PRODUCTS_PER_CODE, ",")},
            "products",
        )
    own = list(Product.objects.filter(seller_id=seller_id, pk__in=product_ids))
    if len(own) != len(set(product_ids)):
        raise DiscountCodeError(gettext("Pick products from your own shop."), "products")
    with transaction.atomic():
        discount = DiscountCode.objects.create(
            seller_id=seller_id,
            code=code,
            kind=kind,
            value=value,
            expires_at=expires_at,
            max_uses=max_uses,
        )
        discount.products.set(own)
    return discount


@transaction.atomic
def discount_code_set_active(*, code: DiscountCode, active: bool) -> DiscountCode:
    code.active = active
    code.save(update_fields=["active"])
    return code
