"""Writes for commerce: creating orders, and paying or failing them exactly once."""

from __future__ import annotations

import re
import secrets

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from catalog.models import Product
from catalog.money import AmountError, format_money, parse_amount
from delivery.services import entitlement_grant, normalize_email
from shop.models import Order, OrderItem
from shop.tasks import send_receipt

CHECKOUT_KEY = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


class CheckoutError(Exception):
    """Input a buyer can fix; ``field`` names the form field it belongs to."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class CheckoutReplayed(Exception):
    """The checkout form was submitted before; ``order`` is what it created."""

    def __init__(self, order: Order) -> None:
        super().__init__(f"checkout key already used by {order.public_id}")
        self.order = order


class OrderStateError(Exception):
    """The order's state forbids the transition (paying a failed order, say)."""


def checkout_key_new() -> str:
    return secrets.token_urlsafe(24)


def platform_fee_for(amount: int) -> int:
    if amount <= 0:
        return 0
    fee = amount * settings.PLATFORM_FEE_BASIS_POINTS // 10_000 + settings.PLATFORM_FEE_FIXED
    return min(fee, amount)


def price_for(*, product: Product, offered: str | None) -> int:
    """What the buyer pays for one product, decided here and nowhere else."""
    if product.pricing == Product.Pricing.FREE:
        return 0
    if product.pricing == Product.Pricing.FIXED:
        return product.price
    # Pay what you want: the typed amount, never below the minimum.
    if offered is None or not offered.strip():
        raise CheckoutError("Enter the amount you want to pay.", "amount")
    try:
        amount = parse_amount(offered, product.currency)
    except AmountError as exc:
        raise CheckoutError(str(exc), "amount") from None
    if amount < product.price:
        raise CheckoutError(
            f"The minimum price is {format_money(product.price, product.currency)}.", "amount"
        )
    return amount


def order_create(
    *,
    product: Product,
    email: str,
    checkout_key: str,
    offered: str | None = None,
    user: AbstractBaseUser | AnonymousUser | None = None,
    provider: str,
) -> Order:
    """Create a pending order for one product; free orders are paid at once."""
    if not CHECKOUT_KEY.match(checkout_key or ""):
        raise CheckoutError("This form has expired. Please reload the page and try again.")
    existing = Order.objects.filter(checkout_key=checkout_key).first()
    if existing is not None:
        raise CheckoutReplayed(existing)
    if not product.is_buyable:
        raise CheckoutError("This product is not on sale.")
    email = normalize_email(email or "")
    try:
        validate_email(email)
    except ValidationError:
        raise CheckoutError(
            "Enter a valid email address, like name@example.com.", "email"
        ) from None
    amount = price_for(product=product, offered=offered)
    fee = platform_fee_for(amount)
    try:
        with transaction.atomic():
            order = Order.objects.create(
                buyer_email=email,
                buyer_id=user.pk if user is not None and user.is_authenticated else None,
                currency=product.currency,
                subtotal=amount,
                total=amount,
                platform_fee=fee,
                provider="free" if amount == 0 else provider,
                checkout_key=checkout_key,
            )
            OrderItem.objects.create(
                order=order,
                product=product,
                seller=product.seller,
                title=product.title,
                unit_price=amount,
                platform_fee=fee,
            )
    except IntegrityError:
        # Two submissions of one form raced; the other one created the order.
        raise CheckoutReplayed(Order.objects.get(checkout_key=checkout_key)) from None
    if amount == 0:
        order = order_fulfil(order_id=order.pk, payment_id=None)
    return order


@transaction.atomic
def order_fulfil(*, order_id: int, payment_id: str | None) -> Order:
    """Mark an order paid and grant its entitlements; calling it again changes nothing."""
    order = Order.objects.select_for_update().get(pk=order_id)
    if order.status == Order.Status.PAID:
        return order
    if order.status != Order.Status.PENDING:
        raise OrderStateError(
            f"An order that is {order.get_status_display().lower()} cannot be paid."
        )
    order.status = Order.Status.PAID
    order.paid_at = timezone.now()
    if payment_id:
        order.provider_payment_id = payment_id
    order.save(update_fields=["status", "paid_at", "provider_payment_id"])
    for item in order.items.select_related("product").select_for_update(of=("self",)):
        if item.entitlement_id is None:
            item.entitlement = entitlement_grant(email=order.buyer_email, product=item.product)
            item.save(update_fields=["entitlement"])
    transaction.on_commit(lambda: send_receipt.enqueue(order_id=order.pk))
    return order


@transaction.atomic
def order_fail(*, order_id: int, reason: str) -> Order:
    order = Order.objects.select_for_update().get(pk=order_id)
    if order.status == Order.Status.FAILED:
        return order
    if order.status != Order.Status.PENDING:
        raise OrderStateError(f"An order that is {order.get_status_display().lower()} cannot fail.")
    order.status = Order.Status.FAILED
    order.failure_reason = reason[:300]
    order.save(update_fields=["status", "failure_reason"])
    return order
