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
from django.db.models import Q, Sum
from django_tasks import task

from catalog.models import Seller
from catalog.outbox.services import durable_task
from shop.models import LedgerEntry, Order, OrderItem, PayoutAccount, Refund, SellerTransfer

log = logging.getLogger(__name__)


def ledger_record_sales(*, order: Order) -> None:
    """Credit each seller's share of a paid order, once per item: one insert, and the
    unique sale entry of an item skips a row recorded before (no savepoint per row)."""
    LedgerEntry.objects.bulk_create(
        [
            LedgerEntry(
                item=item,
                kind=LedgerEntry.Kind.SALE,
                seller_id=item.seller_id,
                amount=item.seller_share,
                currency=order.currency,
            )
            for item in order.items.all()
            if item.seller_share > 0
        ],
        ignore_conflicts=True,
    )


def _seller_part(item: OrderItem, amount: int) -> int:
    """The seller's part of money taken back: the platform gives back its fee in proportion,
    and the VAT in it goes back to the buyer, never out of the seller's share."""
    if item.gross == 0:
        return 0
    return amount * item.seller_share // item.gross


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
    """What the platform still owes the seller (negative: the seller owes the platform).

    Entries reserved by a transfer that Stripe has not confirmed yet still count.
    """
    owed = LedgerEntry.objects.filter(
        Q(transfer__isnull=True) | Q(transfer__stripe_transfer_id__isnull=True), seller=seller
    ).aggregate(total=Sum("amount"))["total"]
    return int(owed or 0)


def seller_payout(
    *, seller_id: int, transfer_group: str = "", source_transaction: str = ""
) -> SellerTransfer | None:
    """Transfer everything owed to a seller whose connected account can receive it.

    Reserve, send, confirm — no transaction is open while Stripe is asked: the
    entries owed are first reserved by a pending ``SellerTransfer`` (committed),
    then Stripe is asked with that row's own idempotency key, then the row keeps
    Stripe's transfer id. A crash or an error in between leaves the transfer
    pending; the next payout of the seller sends it again with the same key, which
    Stripe answers with the same transfer: the money moves once.
    """
    account = PayoutAccount.objects.filter(seller_id=seller_id).first()
    if account is None or not account.can_receive_transfers:
        return None
    sent = None
    for pending in SellerTransfer.objects.filter(
        seller_id=seller_id, stripe_transfer_id__isnull=True
    ).order_by("pk"):
        sent = _transfer_send(pending, account)
    reserved = _transfer_reserve(
        seller_id=seller_id, transfer_group=transfer_group, source_transaction=source_transaction
    )
    return _transfer_send(reserved, account) if reserved is not None else sent


@transaction.atomic
def _transfer_reserve(
    *, seller_id: int, transfer_group: str, source_transaction: str
) -> SellerTransfer | None:
    entries = list(
        LedgerEntry.objects.select_for_update()
        .filter(seller_id=seller_id, transfer__isnull=True)
        .order_by("pk")
    )
    amount = sum(entry.amount for entry in entries)
    if amount <= 0:
        return None
    transfer = SellerTransfer.objects.create(
        seller_id=seller_id,
        amount=amount,
        currency=entries[0].currency,
        stripe_transfer_id=None,
        transfer_group=transfer_group,
        source_transaction=source_transaction,
    )
    LedgerEntry.objects.filter(pk__in=[entry.pk for entry in entries]).update(transfer=transfer)
    return transfer


def _transfer_send(transfer: SellerTransfer, account: PayoutAccount) -> SellerTransfer:
    from shop.payments import stripe_api

    transfer_id = stripe_api.transfer_create(
        amount=transfer.amount,
        currency=transfer.currency,
        destination=account.stripe_account_id,
        transfer_group=transfer.transfer_group or f"seller_{transfer.seller_id}",
        source_transaction=transfer.source_transaction or None,
        # One key per reserved transfer: sending it again is a no-op at Stripe.
        idempotency_key=f"payout-transfer-{transfer.pk}",
    )
    SellerTransfer.objects.filter(pk=transfer.pk, stripe_transfer_id__isnull=True).update(
        stripe_transfer_id=transfer_id
    )
    transfer.refresh_from_db()
    return transfer


@durable_task
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
