"""Things that happen to a seller (a sale, a follower...), told to whoever listens.

The services that make them (orders, refunds, pledges, follows) live in every
layer; what listens (the outgoing webhooks, ``shop.webhooks_out``) sits above
them all. So the bottom layer owns the names and the call, the listeners add
themselves from their ``AppConfig.ready()`` (like the seller menu), and no
layer imports upward.

``seller_event`` is called inside the transaction of the change it reports:
a listener writes its rows there, so a rolled-back change reports nothing.
``key`` names the happening once (a second call with it is the same event).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import connection
from django.utils.translation import gettext_lazy as _

# The event types a seller may subscribe to, with their labels.
EVENT_TYPES = {
    "sale.created": _("A sale (an order paid)"),
    "refund.created": _("A refund"),
    "dispute.created": _("A dispute (a chargeback)"),
    "pledge.created": _("A pledge to a campaign"),
    "campaign.settled": _("A campaign settled (funded or not)"),
    "follower.created": _("A new follower"),
}

Listener = Callable[..., object]
_LISTENERS: list[Listener] = []


def seller_event_listen(listener: Listener) -> None:
    """Call ``listener(type=, seller_id=, key=, ref=)`` for every event (added once)."""
    if listener not in _LISTENERS:
        _LISTENERS.append(listener)


def seller_event(*, type: str, seller_id: int, key: str, **ref: Any) -> None:
    """Report ``type`` for ``seller_id``; ``ref`` names the rows it is about (ids)."""
    if type not in EVENT_TYPES:
        raise ValueError(f"Unknown seller event {type!r}")
    if not connection.in_atomic_block:
        raise RuntimeError("seller_event is called inside the change's own transaction")
    for listener in _LISTENERS:
        listener(type=type, seller_id=seller_id, key=key, ref=ref)
