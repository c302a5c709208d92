"""Magic links to one pledge: random tokens, only their SHA-256 stored (as library links)."""

from __future__ import annotations

import hashlib
import secrets

from django.db import transaction

from shop.funding.models import Pledge, PledgeLink


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def pledge_link_create(*, pledge: Pledge) -> str:
    token = secrets.token_urlsafe(32)
    PledgeLink.objects.create(pledge=pledge, token_hash=_hash(token))
    return token


def access_pledge_link(token: str) -> Pledge | None:
    """The pledge a magic link opens (its own, and only it), or None."""
    if not token or len(token) > 100:
        return None
    link = (
        PledgeLink.objects.filter(token_hash=_hash(token))
        .select_related("pledge__campaign__product", "pledge__tier", "pledge__order")
        .first()
    )
    return link.pledge if link else None
