"""The API's gate: which token is asking, for which seller, with which scopes.

Every operation names the scope it needs (``TokenAuth(scope)``); the token's
seller then goes through the seller pages' own gate (``catalog.access``): the
request acts as the seller's account, so ``access_product_for_seller(request,
...)`` answers exactly what the pages answer.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer

from catalog import access as catalog_access
from catalog.imports import ZIP_MAX_BYTES, import_max_bytes
from catalog.limits import Limited, api_limit
from catalog.money import CountError, parse_count
from catalog.quotas import human_size
from catalog.request_size import Allowance
from catalog.uploads.base import CHUNK_MAX_BYTES
from delivery.services import hash_token
from shop.api.errors import ApiError
from shop.api.models import ApiToken
from shop.api.scopes import CATALOG_WRITE
from shop.api.services import TOKEN_PREFIX, api_token_touch

TOKEN_MAX_CHARS = 100
# Query parameters under which clients commonly put a credential.
CREDENTIAL_PARAMS = frozenset(
    {"token", "access_token", "api_key", "apikey", "key", "auth", "bearer", "authorization"}
)


def _refuse(code: str, message: str) -> ApiError:
    return ApiError(401, code, message, headers={"WWW-Authenticate": 'Bearer realm="api"'})


def token_in_query(request: HttpRequest) -> bool:
    for name, values in request.GET.lists():
        if name.lower() in CREDENTIAL_PARAMS:
            return True
        if any(value.startswith(TOKEN_PREFIX) for value in values):
            return True
    return False


def token_in_query_error() -> ApiError:
    return ApiError(
        400,
        "token_in_query",
        "Send the token in the Authorization header (Authorization: Bearer <token>), "
        "never in the address: addresses are kept in logs and browser histories. "
        "If this token was used in an address, revoke it and make a new one.",
    )


def access_token(raw: str) -> ApiToken:
    """The live token for ``raw`` (its seller and account loaded); else a 401 :class:`ApiError`."""
    token = None
    if raw and len(raw) <= TOKEN_MAX_CHARS:
        token = (
            ApiToken.objects.select_related("seller__user")
            .filter(token_hash=hash_token(raw))
            .first()
        )
    if token is None:
        raise _refuse("invalid_token", "This token is unknown. Check that it was copied whole.")
    if token.revoked_at is not None:
        raise _refuse("revoked_token", "This token was revoked. Make a new one on /sell/api/.")
    if token.is_expired:
        raise _refuse("expired_token", "This token has expired. Make a new one on /sell/api/.")
    return token


class TokenAuth(HttpBearer):
    """``Authorization: Bearer <token>`` with ``scope``; the answer is the token."""

    def __init__(self, scope: str) -> None:
        super().__init__()
        self.scope = scope

    def __call__(self, request: HttpRequest) -> Any:
        if token_in_query(request):
            raise token_in_query_error()
        header = request.headers.get("Authorization", "")
        if not header:
            raise _refuse(
                "missing_token", "Send a token in the header Authorization: Bearer <token>."
            )
        kind, _, raw = header.partition(" ")
        if kind.lower() != "bearer" or not raw.strip():
            raise _refuse(
                "bad_authorization", "The Authorization header must read: Bearer <token>."
            )
        return self.authenticate(request, raw.strip())

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken:
        found = access_token(token)
        try:
            api_limit(subject=f"token:{found.pk}")
        except Limited as exc:
            raise ApiError(
                429,
                "rate_limited",
                f"Too many requests with this token. Try again in {exc.retry_after} seconds.",
                headers={"Retry-After": str(exc.retry_after)},
            ) from None
        # The request acts as the seller's account, through the pages' own gate.
        request.user = found.seller.user
        try:
            catalog_access.request_seller(request)
        except (catalog_access.NotOwned, catalog_access.NotASeller):
            raise _refuse("invalid_token", "This token's account can no longer sell.") from None
        if self.scope not in found.scopes:
            raise ApiError(
                403,
                "insufficient_scope",
                f"This token lacks the {self.scope} permission. Make a token with it on "
                "/sell/api/.",
            )
        api_token_touch(token=found, now=timezone.now())
        return found


def _writing_token(request: HttpRequest) -> ApiToken | None:
    kind, _, raw = request.headers.get("Authorization", "").partition(" ")
    if kind.lower() != "bearer":
        return None
    try:
        token = access_token(raw.strip())
    except ApiError:
        return None
    return token if CATALOG_WRITE in token.scopes else None


def chunk_allowance(request: HttpRequest) -> Allowance | None:
    """A chunk's allowance (``catalog.request_size``), judged before the body is read:
    only a live token that may write the catalog sends more than the usual limit."""
    if _writing_token(request) is None:
        return None
    return Allowance(CHUNK_MAX_BYTES, why="one chunk of an upload")


def import_allowance(request: HttpRequest) -> Allowance | None:
    """A catalog ZIP's allowance: what the Import page allows the token's seller."""
    token = _writing_token(request)
    if token is None:
        return None
    most = min(ZIP_MAX_BYTES, import_max_bytes(token.seller))
    return Allowance(most, why=f"your whole storage quota is {human_size(most)}")


def access_token_for_seller(request: HttpRequest, token_id: object) -> ApiToken:
    """One of the signed-in seller's tokens (for the tokens page); anyone else's is a 404."""
    seller = catalog_access.request_seller(request)
    try:
        pk = parse_count(token_id, minimum=1, maximum=2**63 - 1)
    except CountError:
        pk = 0
    found = ApiToken.objects.filter(pk=pk, seller=seller).first()
    if found is None:
        raise catalog_access.NotOwned("No such token.")
    return found
