"""What the platform owes each seller, and paying it through Stripe Connect.

Payments use separate charges and transfers: the buyer pays the platform
once per order, and each seller's share (price minus the platform fee) is
credited to the ledger. A seller with a connected account that can receive
transfers is paid at once, by a transfer in the order's transfer group; the
others' credits wait, and are paid in one transfer when they connect.
Refunds and disputes are debits that net against what is owed.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import Sum
from django_tasks import task

from catalog.models import Seller
from shop.models import LedgerEntry, Order, OrderItem, PayoutAccount, Refund, SellerTransfer

log = logging.getLogger(__name__)


def ledger_record_sales(*, order: Order) -> None:
    for item in order.items.all():
        if item.seller_share > 0:
            LedgerEntry.objects.get_or_create(
                item=item,
                kind=LedgerEntry.Kind.SALE,
                defaults={
                    "seller_id": item.seller_id,
                    "amount": item.seller_share,
                    "currency": order.currency,
                },
            )


def _seller_part(item: OrderItem, amount: int) -> int:
    """The seller's part of money taken back: the platform gives back its fee in proportion."""
    if item.unit_price == 0:
        return 0
    return amount * item.seller_share // item.unit_price


def ledger_record_refund(*, item: OrderItem, amount: int, refund: Refund) -> None:
    part = _seller_part(item, amount)
    if part:
        LedgerEntry.objects.create(
            seller_id=item.seller_id,
            item=item,
            kind=LedgerEntry.Kind.REFUND,
            amount=-part,
            currency=item.order.currency,
            refund=refund,
        )


def ledger_record_dispute(*, item: OrderItem) -> None:
    part = _seller_part(item, item.refundable)
    if part and not LedgerEntry.objects.filter(item=item, kind=LedgerEntry.Kind.DISPUTE).exists():
        LedgerEntry.objects.create(
            seller_id=item.seller_id,
            item=item,
            kind=LedgerEntry.Kind.DISPUTE,
            amount=-part,
            currency=item.order.currency,
        )


def seller_balance(*, seller: Seller) -> int:
    """What the platform still owes the seller (negative: the seller owes the platform)."""
    owed = LedgerEntry.objects.filter(seller=seller, transfer__isnull=True).aggregate(
        total=Sum("amount")
    )["total"]
    return int(owed or 0)


@transaction.atomic
def seller_payout(
    *, seller_id: int, transfer_group: str = "", source_transaction: str = ""
) -> SellerTransfer | None:
    """Transfer everything owed to a seller whose connected account can receive it."""
    from shop.payments import stripe_api

    account = PayoutAccount.objects.filter(seller_id=seller_id).first()
    if account is None or not account.can_receive_transfers:
        return None
    entries = list(
        LedgerEntry.objects.select_for_update()
        .filter(seller_id=seller_id, transfer__isnull=True)
        .order_by("pk")
    )
    amount = sum(entry.amount for entry in entries)
    if amount <= 0:
        return None
    currency = entries[0].currency
    transfer_id = stripe_api.transfer_create(
        amount=amount,
        currency=currency,
        destination=account.stripe_account_id,
        transfer_group=transfer_group or f"seller_{seller_id}",
        source_transaction=source_transaction or None,
        # The same set of entries always makes the same request: a retry is a no-op at Stripe.
        idempotency_key=f"payout-{seller_id}-{entries[0].pk}-{entries[-1].pk}-{amount}",
    )
    transfer = SellerTransfer.objects.create(
        seller_id=seller_id,
        amount=amount,
        currency=currency,
        stripe_transfer_id=transfer_id,
        transfer_group=transfer_group,
    )
    LedgerEntry.objects.filter(pk__in=[entry.pk for entry in entries]).update(transfer=transfer)
    return transfer


@task()
def payout_order_sellers(*, order_id: int) -> None:
    """After a paid order: pay each of its sellers who can be paid."""
    from shop.payments.stripe_api import PaymentProviderError

    order = Order.objects.get(pk=order_id)
    for seller_id in sorted(set(order.items.values_list("seller_id", flat=True))):
        try:
            seller_payout(
                seller_id=seller_id,
                transfer_group=f"order_{order.public_id}",
                source_transaction=order.provider_charge_id or "",
            )
        except PaymentProviderError:
            # The credit stays in the ledger; the next payout or reconcile retries it.
            log.exception("Transfer to seller %s for order %s failed", seller_id, order.pk)


@task()
def payout_seller(*, seller_id: int) -> None:
    from shop.payments.stripe_api import PaymentProviderError

    try:
        seller_payout(seller_id=seller_id)
    except PaymentProviderError:
        log.exception("Transfer to seller %s failed", seller_id)
