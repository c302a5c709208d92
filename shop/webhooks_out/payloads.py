"""The ``data`` of each event type: the one place the payload schema is written.

Every event is ``{"id": "evt_...", "type": ..., "created": <unix>, "data": {...}}``.
Amounts are integers in minor units with their ``currency``. Nothing here is
more than the seller's own pages show: no download or library address, no
buyer detail but the email the sales and campaign pages list, no follower
address (the API's ``followers:read`` gives those).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet

from catalog.follows.models import Follow
from catalog.follows.services import followers_count
from shop.funding.models import HOLDING, Campaign, Pledge
from shop.models import LedgerEntry, Order, Refund


def _time(value: Any) -> int | None:
    return int(value.timestamp()) if value is not None else None


def _sale_lines(order: Order, seller_id: int) -> list[dict[str, Any]]:
    return [
        {
            "sale_id": item.pk,
            "product_id": item.product_id,
            "title": item.title,
            "list_price": item.list_price,
            "discount": item.discount_amount,
            "price_paid": item.gross,
            "vat": item.tax_amount,
            "platform_fee": item.platform_fee,
            "seller_share": item.seller_share,
        }
        for item in order.items.filter(seller_id=seller_id).order_by("pk")
    ]


def sale_created(*, seller_id: int, order_id: int) -> dict[str, Any]:
    order = Order.objects.get(pk=order_id)
    lines = _sale_lines(order, seller_id)
    return {
        "order": str(order.public_id),
        "currency": order.currency,
        "paid_at": _time(order.paid_at),
        "buyer_email": order.buyer_email,
        "total_paid": sum(line["price_paid"] for line in lines),
        "seller_share": sum(line["seller_share"] for line in lines),
        "items": lines,
    }


def _debits(entries: QuerySet[LedgerEntry]) -> list[dict[str, Any]]:
    """What each of the seller's sales lost, from the ledger's debits."""
    return [
        {"sale_id": e.item_id, "product_id": e.item.product_id, "seller_debit": -e.amount}
        for e in entries.select_related("item").order_by("pk")
    ]


def refund_created(*, seller_id: int, refund_id: int) -> dict[str, Any]:
    refund = Refund.objects.select_related("order").get(pk=refund_id)
    entries = LedgerEntry.objects.filter(
        refund=refund, seller_id=seller_id, kind=LedgerEntry.Kind.REFUND
    )
    lines = _debits(entries)
    return {
        "refund": refund.pk,
        "order": str(refund.order.public_id),
        "currency": refund.order.currency,
        "seller_debit": sum(line["seller_debit"] for line in lines),
        "reason": refund.reason,
        "items": lines,
    }


def dispute_created(*, seller_id: int, order_id: int) -> dict[str, Any]:
    order = Order.objects.get(pk=order_id)
    lines = _debits(
        LedgerEntry.objects.filter(
            item__order=order, seller_id=seller_id, kind=LedgerEntry.Kind.DISPUTE
        )
    )
    return {
        "order": str(order.public_id),
        "currency": order.currency,
        "seller_debit": sum(line["seller_debit"] for line in lines),
        "items": lines,
    }


def pledge_created(*, seller_id: int, pledge_id: int) -> dict[str, Any]:
    pledge = Pledge.objects.select_related("tier", "campaign").get(pk=pledge_id)
    return {
        "pledge": str(pledge.public_id),
        "campaign_id": pledge.campaign_id,
        "campaign": pledge.campaign.title,
        "tier": pledge.tier.title,
        "backer_number": pledge.number,
        "backer_email": pledge.email,
        "amount": pledge.amount,
        "currency": pledge.currency,
    }


def campaign_settled(*, seller_id: int, campaign_id: int) -> dict[str, Any]:
    campaign = Campaign.objects.get(pk=campaign_id)
    holding = campaign.pledges.filter(status__in=HOLDING)
    return {
        "campaign_id": campaign.pk,
        "title": campaign.title,
        "product_id": campaign.product_id,
        "funded": bool(campaign.goal_met),
        "goal": campaign.goal,
        "pledged": sum(holding.values_list("amount", flat=True)),
        "currency": campaign.currency,
        "backers": holding.count(),
        "settled_at": _time(campaign.settled_at),
    }


def follower_created(*, seller_id: int, follow_id: int) -> dict[str, Any]:
    follow = Follow.objects.select_related("seller").get(pk=follow_id)
    return {
        "follower_id": follow.pk,
        "followed_at": _time(follow.confirmed_at),
        "followers": followers_count(seller=follow.seller),
    }


def endpoint_test(*, seller_id: int) -> dict[str, Any]:
    return {"message": "A test event sent from the webhooks page."}


BUILDERS: dict[str, Callable[..., dict[str, Any]]] = {
    "sale.created": sale_created,
    "refund.created": refund_created,
    "dispute.created": dispute_created,
    "pledge.created": pledge_created,
    "campaign.settled": campaign_settled,
    "follower.created": follower_created,
    "endpoint.test": endpoint_test,
}
