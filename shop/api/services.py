"""Writes for the API: tokens made, revoked, and seen in use."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext

from catalog.models import Seller
from delivery.services import hash_token
from shop.api.models import ApiToken
from shop.api.scopes import SCOPES

TOKEN_PREFIX = "ech_"  # noqa: S105 (a public marker, not a secret)
# What a seller sees of a token afterwards: enough to tell it apart, far too little to use.
SHOWN_CHARS = 12
MAX_LIVE_TOKENS = 20
# last_used_at is written at most this often per token: a busy client is not a write per request.
TOUCH_EVERY = timedelta(minutes=1)


class TokenError(Exception):
    """A token that cannot be made as asked; the message says why."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def token_generate() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


@transaction.atomic
def api_token_create(
    *, seller: Seller, name: str, scopes: list[str], expires_at: datetime | None = None
) -> tuple[ApiToken, str]:
    """A new token and its secret, which is returned here once and never stored."""
    name = name.strip()
    if not name:
        raise TokenError(gettext("Give the token a name."), field="name")
    unknown = [scope for scope in scopes if scope not in SCOPES]
    if unknown or not scopes:
        raise TokenError(gettext("Choose at least one permission from the list."), field="scopes")
    # Locks the seller row: two parallel forms cannot both pass the count.
    Seller.objects.select_for_update().filter(pk=seller.pk).first()
    live = api_tokens_live(seller=seller).count()
    if live >= MAX_LIVE_TOKENS:
        raise TokenError(
            gettext("You have %(count)s working tokens: revoke one you no longer use first.")
            % {"count": live}
        )
    secret = token_generate()
    token = ApiToken.objects.create(
        seller=seller,
        name=name[:100],
        prefix=secret[:SHOWN_CHARS],
        token_hash=hash_token(secret),
        scopes=[scope for scope in SCOPES if scope in scopes],
        expires_at=expires_at,
    )
    return token, secret


def api_tokens_live(*, seller: Seller) -> QuerySet[ApiToken]:
    now = timezone.now()
    return ApiToken.objects.filter(seller=seller, revoked_at__isnull=True).exclude(
        expires_at__lte=now
    )


@transaction.atomic
def api_token_revoke(*, token: ApiToken) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def api_token_touch(*, token: ApiToken, now: datetime) -> None:
    """Note that the token was used, at most once per ``TOUCH_EVERY``."""
    if token.last_used_at is not None and now - token.last_used_at < TOUCH_EVERY:
        return
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    token.last_used_at = now
