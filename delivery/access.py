"""The download gate: every byte a buyer receives passes through here.

A *file link* is ``django.core.signing`` output (``TimestampSigner`` with the
salt ``delivery.file-link``) over the JSON object ``{"e": <entitlement id>,
"a": <asset id>}``, plus ``"f": <preset>`` for the file in another format
(``delivery.formats``). It proves that the site minted it and when; whether it is
still good is decided against the database on every request:

1. the signature checks out against ``SECRET_KEY`` or one of
   ``SECRET_KEY_FALLBACKS`` (otherwise: :class:`LinkInvalid`, a plain 404);
2. it is younger than ``FILE_LINK_MAX_AGE`` seconds (:class:`LinkExpired`);
3. the entitlement exists and is active (:class:`EntitlementRevoked` says why);
4. the asset is a paid file of the entitlement's product (:class:`LinkInvalid`);
5. the download limit, if any, is not reached (:class:`LimitReached`) — a
   request inside the window of a download already counted is a resume and
   always passes.

A file link is minted only for a :class:`Holder` of the purchase, proved by
the request in one of three ways, each decided here and nowhere else:

- a **library link** (a random token mailed to the address, stored as a
  hash, revocable): the whole library of that address;
- a **signed-in account** that the library was joined to by a mailed claim
  link (``Library.user``): every library of that account;
- a **receipt held by this browser**: the browser that placed an order keeps
  its id in its session for ``RECEIPT_ACCESS_SECONDS``; it reaches that
  order's own purchases and nothing else. Knowing an order's URL or the
  buyer's email address gives nothing: a library is only ever opened by its
  own link or by its account.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.base import SessionBase
from django.core import signing
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, Model, Q
from django.db.models.base import ModelState
from django.db.models.options import Options
from django.db.models.signals import post_init, pre_init
from django.utils import timezone
from django.utils.translation import gettext_noop

from catalog.models import Asset
from delivery.models import Download, Entitlement, LibraryLink
from delivery.services import db_datetime, download_window_start, hash_token, hot_fetchone

FILE_LINK_SALT = "delivery.file-link"
M = TypeVar("M", bound=Model)


class AccessDenied(Exception):
    """Base of every refusal; ``status`` is the HTTP status a view answers with."""

    status = 403


class LinkInvalid(AccessDenied):
    status = 404


class LinkExpired(AccessDenied):
    """A genuine link, only too old: it still says what it was for, so the
    buyer's own library (or account) can mint a fresh one in one click."""

    status = 410

    def __init__(self, message: str, *, entitlement_id: int, asset_id: int) -> None:
        super().__init__(message)
        self.entitlement_id = entitlement_id
        self.asset_id = asset_id


class EntitlementRevoked(AccessDenied):
    status = 403

    def __init__(self, reason: str, *, entitlement: Entitlement | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.entitlement = entitlement


class LimitReached(AccessDenied):
    status = 403

    def __init__(self, message: str, *, entitlement: Entitlement | None = None) -> None:
        super().__init__(message)
        self.entitlement = entitlement


@dataclass(frozen=True, slots=True)
class FileAccess:
    entitlement: Entitlement
    asset: Asset
    # When the gate judged the link: the download log counts in the same window.
    at: datetime
    # A resume already logged: a download is counted in the window and this
    # network was seen in it, so the log has nothing to write.
    covered: bool = False
    # The format asked for (a ``delivery.formats`` preset key), or None for the file itself.
    preset: str | None = None


def _signer() -> signing.TimestampSigner:
    # One per key set: built once, not on every download (the keys change only
    # with the settings, and a test's override_settings is a new key set).
    return _signer_for(settings.SECRET_KEY, tuple(settings.SECRET_KEY_FALLBACKS))


@functools.lru_cache(maxsize=4)
def _signer_for(key: str, fallbacks: tuple[str, ...]) -> signing.TimestampSigner:
    return signing.TimestampSigner(key=key, fallback_keys=list(fallbacks), salt=FILE_LINK_SALT)


def file_link_mint(*, entitlement: Entitlement, asset: Asset, preset: str | None = None) -> str:
    payload: dict[str, object] = {"e": entitlement.pk, "a": asset.pk}
    if preset:
        payload["f"] = preset
    return _signer().sign_object(payload, compress=False)


def _ids(payload: object) -> tuple[int, int]:
    try:
        return int(payload["e"]), int(payload["a"])  # type: ignore[index]
    except (TypeError, KeyError, ValueError):
        raise LinkInvalid("Unknown link.") from None


def _preset(payload: object) -> str | None:
    preset = payload.get("f") if isinstance(payload, dict) else None
    return preset if isinstance(preset, str) and preset else None


def _decode(token: str) -> tuple[int, int, str | None]:
    signer = _signer()
    try:
        payload = signer.unsign_object(token, max_age=settings.FILE_LINK_MAX_AGE)
        if isinstance(payload, dict) and payload.get("s"):
            raise LinkInvalid("Unknown link.")  # a player's link is no download link
        return (*_ids(payload), _preset(payload))
    except signing.SignatureExpired:
        # The signature was verified before the age was: the payload is ours.
        entitlement_id, asset_id = _ids(signer.unsign_object(token))
        raise LinkExpired(
            "This download link has expired.", entitlement_id=entitlement_id, asset_id=asset_id
        ) from None
    except (signing.BadSignature, ValueError, UnicodeDecodeError):
        raise LinkInvalid("Unknown link.") from None


# Every download runs the gate's read: one statement that fetches the
# entitlement, the paid file and, with a limit, the highest number counted
# (how many downloads were counted) and whether one is inside the window.
# Built here once and read into model instances by hand: the ORM took three
# times as long to build two such queries, and raw() as long again to read
# them (bench/delivery.py). Named parameters: Django's SQLite cursor turns
# "%s" into "?" with a regular expression on every call, named ones with one
# string format. Only the columns a download uses are read; the others are
# deferred (loaded if anything asks). Only table and column names come from
# code; every value is a bound parameter.
_E, _A, _D = (m._meta for m in (Entitlement, Asset, Download))
_ENTITLEMENT_FIELDS: tuple[str, ...] = (
    *("id", "library_id", "product_id", "status", "revoked_reason", "download_limit"),
)
_ASSET_FIELDS: tuple[str, ...] = (
    *("id", "product_id", "role", "position", "file", "original_filename"),
    *("size_bytes", "sha256", "mime_type", "kind"),
)


def _field(meta: Options[Any], attname: str) -> Field[Any, Any]:
    field = meta.get_field(attname)
    assert isinstance(field, Field)
    return field


def _columns(meta: Options[Any], alias: str, attnames: tuple[str, ...]) -> str:
    return ", ".join(f"{alias}.{_field(meta, name).column}" for name in attnames)


_GRANT_SQL = " ".join(
    f"""
SELECT {_columns(_E, "e", _ENTITLEMENT_FIELDS)}, {_columns(_A, "a", _ASSET_FIELDS)},
    CASE WHEN e.download_limit IS NULL THEN NULL ELSE (
        SELECT MAX(number) FROM {_D.db_table}
        WHERE entitlement_id = %(e)s AND asset_id = %(a)s AND counted
    ) END,
    EXISTS (
        SELECT 1 FROM {_D.db_table}
        WHERE entitlement_id = %(e)s AND asset_id = %(a)s AND counted AND at >= %(start)s
    ),
    EXISTS (
        SELECT 1 FROM {_D.db_table}
        WHERE entitlement_id = %(e)s AND asset_id = %(a)s AND network = %(network)s
            AND at >= %(start)s
    )
FROM {_E.db_table} e
LEFT JOIN {_A.db_table} a ON a.id = %(a)s AND a.product_id = e.product_id AND a.role = %(role)s
WHERE e.id = %(e)s
""".split()  # noqa: S608
)
_PAID_FILE_SQL = (
    f"SELECT {_columns(_A, 'a', _ASSET_FIELDS)} FROM {_A.db_table} a "  # noqa: S608
    "WHERE a.id = %(a)s AND a.product_id = %(product)s AND a.role = %(role)s"
)
_E_WIDTH, _A_WIDTH = len(_ENTITLEMENT_FIELDS), len(_ASSET_FIELDS)
_Converters = tuple[tuple[int, Field[Any, Any], tuple[Callable[..., Any], ...]], ...]
# Django's converters (SQLite's text timestamps into datetimes...) for each
# database connection (one per thread) and model.
_converters_by_connection: WeakKeyDictionary[BaseDatabaseWrapper, dict[type, _Converters]] = (
    WeakKeyDictionary()
)


def _converters(
    db: BaseDatabaseWrapper, model: type[Model], attnames: Sequence[str]
) -> _Converters:
    per_model = _converters_by_connection.setdefault(db, {})
    found = per_model.get(model)
    if found is None:
        pairs = []
        for index, name in enumerate(attnames):
            field = _field(model._meta, name)
            column = field.get_col(model._meta.db_table)
            functions = db.ops.get_db_converters(column) + field.get_db_converters(db)
            if functions:
                pairs.append((index, field, tuple(functions)))
        found = per_model[model] = tuple(pairs)
    return found


def _instance(
    db: BaseDatabaseWrapper, model: type[M], attnames: Sequence[str], values: Sequence[Any]
) -> M:
    """What ``Model.from_db`` makes, in a third of its time: an instance whose
    other fields are deferred. ``__init__`` is skipped only while no
    ``pre_init``/``post_init`` receiver listens to the model."""
    row = list(values)
    for index, field, functions in _converters(db, model, attnames):
        for convert in functions:
            row[index] = convert(row[index], field, db)
    if pre_init.has_listeners(model) or post_init.has_listeners(model):
        return model.from_db(db.alias, attnames, row)
    instance = model.__new__(model)
    state = instance._state = ModelState()
    state.adding, state.db = False, db.alias
    instance.__dict__.update(zip(attnames, row, strict=True))
    return instance


def _grant(
    entitlement_id: int, asset_id: int, now: datetime, network: str
) -> tuple[Entitlement | None, Asset | None, int, bool, bool]:
    """The entitlement, its paid file ``asset_id`` (previews are public and live
    elsewhere: a purchase grants the deliverables only), with a limit the
    highest number counted, whether one is inside the window, and whether
    ``network`` was seen in it."""
    db = connections[DEFAULT_DB_ALIAS]
    params: dict[str, Any] = {
        "e": entitlement_id,
        "a": asset_id,
        "start": db_datetime(db, download_window_start(now)),
        "role": Asset.Role.DELIVERABLE.value,
        "network": network,
    }
    row = hot_fetchone(_GRANT_SQL, params)
    if row is None:
        return None, None, 0, False, False
    entitlement = _instance(db, Entitlement, _ENTITLEMENT_FIELDS, row[:_E_WIDTH])
    asset_values = row[_E_WIDTH : _E_WIDTH + _A_WIDTH]
    asset = None
    if asset_values[0] is not None:
        asset = _instance(db, Asset, _ASSET_FIELDS, asset_values)
    used, recent, seen = row[-3:]
    return entitlement, asset, used or 0, bool(recent), bool(seen)


def _paid_file(entitlement: Entitlement, asset_id: int) -> Asset | None:
    """The asset if it is a paid file of the entitlement's product."""
    db = connections[DEFAULT_DB_ALIAS]
    params: dict[str, Any] = {
        "a": asset_id,
        "product": entitlement.product_id,
        "role": Asset.Role.DELIVERABLE.value,
    }
    row = hot_fetchone(_PAID_FILE_SQL, params)
    return None if row is None else _instance(db, Asset, _ASSET_FIELDS, row)


def access_file_link(token: str, *, network: str = "") -> FileAccess:
    """Check a file link completely; return what it grants or raise AccessDenied.

    ``network`` is the client's (``delivery.services.ip_network``): the answer
    says whether the download log already covers this request."""
    entitlement_id, asset_id, preset = _decode(token)
    now = timezone.now()
    entitlement, asset, used, recent, seen = _grant(entitlement_id, asset_id, now, network)
    if entitlement is None or asset is None:
        raise LinkInvalid("Unknown link.")
    _check_active(entitlement)
    # A download inside the window of one already counted is a resume: it passes.
    limit = entitlement.download_limit
    if limit is not None and used >= limit and not recent:
        raise limit_reached(entitlement)
    return FileAccess(
        entitlement=entitlement, asset=asset, at=now, covered=recent and seen, preset=preset
    )


@dataclass(frozen=True, slots=True)
class BundleAccess:
    """A "Download all" link checked: every paid file of the entitlement passed the gate."""

    entitlement: Entitlement
    assets: tuple[Asset, ...]
    at: datetime
    preset: str | None = None


def zip_link_mint(*, entitlement: Entitlement, preset: str | None = None) -> str:
    """A file link for the whole product as one ZIP: ``{"e": <id>, "z": 1}`` (+ ``"f"``)."""
    payload: dict[str, object] = {"e": entitlement.pk, "z": 1}
    if preset:
        payload["f"] = preset
    return _signer().sign_object(payload, compress=False)


def access_zip_link(token: str) -> BundleAccess:
    """Check a ZIP link like a file link, for each paid file; a file link is not one."""
    signer = _signer()
    try:
        payload = signer.unsign_object(token, max_age=settings.FILE_LINK_MAX_AGE)
        entitlement_id = int(payload["e"])
        if payload.get("z") != 1:
            raise LinkInvalid("Unknown link.")
    except signing.SignatureExpired:
        raise LinkExpired("This download link has expired.", entitlement_id=0, asset_id=0) from None
    except (signing.BadSignature, ValueError, UnicodeDecodeError, TypeError, KeyError):
        raise LinkInvalid("Unknown link.") from None
    now = timezone.now()
    entitlement = Entitlement.objects.filter(pk=entitlement_id).first()
    if entitlement is None:
        raise LinkInvalid("Unknown link.")
    _check_active(entitlement)
    assets = tuple(
        Asset.objects.filter(
            product_id=entitlement.product_id, role=Asset.Role.DELIVERABLE
        ).order_by("position", "id")
    )
    if not assets:
        raise LinkInvalid("Unknown link.")
    limit = entitlement.download_limit
    if limit is not None:
        for asset in assets:
            _found, _asset, used, recent, _seen = _grant(entitlement.pk, asset.pk, now, "")
            if used >= limit and not recent:
                raise limit_reached(entitlement)
    return BundleAccess(entitlement=entitlement, assets=assets, at=now, preset=_preset(payload))


def stream_link_mint(*, entitlement: Entitlement, asset: Asset) -> str:
    """A link for the library's players: ``{"e", "a", "s": 1}``, good for
    ``STREAM_LINK_MAX_AGE`` seconds (a long album plays through), counted as a
    stream, never against the download limit."""
    return _signer().sign_object({"e": entitlement.pk, "a": asset.pk, "s": 1}, compress=False)


def access_stream_link(token: str) -> FileAccess:
    """A player's link: signature, age, active purchase, a paid file; no limit."""
    signer = _signer()
    try:
        payload = signer.unsign_object(token, max_age=settings.STREAM_LINK_MAX_AGE)
    except signing.SignatureExpired:
        raise LinkInvalid("This player link has expired; reload your library.") from None
    except (signing.BadSignature, ValueError, UnicodeDecodeError):
        raise LinkInvalid("Unknown link.") from None
    if not isinstance(payload, dict) or payload.get("s") != 1:
        raise LinkInvalid("Unknown link.")
    entitlement_id, asset_id = _ids(payload)
    entitlement = Entitlement.objects.filter(pk=entitlement_id).first()
    if entitlement is None:
        raise LinkInvalid("Unknown link.")
    asset = access_entitlement_asset(entitlement=entitlement, asset_id=asset_id)
    return FileAccess(entitlement=entitlement, asset=asset, at=timezone.now())


def access_zip_ready(*, entitlement: Entitlement) -> None:
    """A holder may ask for the ZIP of an active purchase with paid files."""
    _check_active(entitlement)
    paid = Asset.objects.filter(product_id=entitlement.product_id, role=Asset.Role.DELIVERABLE)
    if not paid.exists():
        raise LinkInvalid("Unknown file.")


def limit_reached(entitlement: Entitlement) -> LimitReached:
    return LimitReached("The download limit for this file is reached.", entitlement=entitlement)


def _check_active(entitlement: Entitlement) -> None:
    if not entitlement.is_active:
        raise EntitlementRevoked(
            entitlement.revoked_reason or gettext_noop("This purchase was revoked."),
            entitlement=entitlement,
        )


def access_entitlement_asset(*, entitlement: Entitlement, asset_id: int) -> Asset:
    """The asset a library may mint a link for: one of the entitlement's paid files."""
    _check_active(entitlement)
    asset = _paid_file(entitlement, asset_id)
    if asset is None:
        raise LinkInvalid("Unknown file.")
    return asset


# Who holds a purchase ------------------------------------------------------

RECEIPTS_SESSION_KEY = "delivery.receipts"
_RECEIPTS_KEPT = 20
_LIBRARY_TOKEN_MAX = 128


@dataclass(frozen=True, slots=True)
class Holder:
    """Whoever the request proves to hold purchases; see the module docstring.

    Exactly one of the three is set: ``library_id`` (with the ``token`` of the
    library link that proved it), ``user_id``, or ``entitlement_ids`` (a receipt).
    """

    library_id: int | None = None
    token: str | None = None
    user_id: int | None = None
    entitlement_ids: frozenset[int] | None = None

    def entitlements(self) -> Q:
        """The entitlements this holder reaches, as a filter on ``Entitlement``."""
        if self.library_id is not None:
            return Q(library_id=self.library_id)
        if self.user_id is not None:
            return Q(library__user_id=self.user_id)
        if self.entitlement_ids is not None:
            return Q(pk__in=self.entitlement_ids)
        return Q(pk__in=[])


def access_library_link(*, token: str | None) -> LibraryLink:
    """The live library link for ``token`` (its library loaded); else :class:`LinkInvalid`."""
    link = None
    if token and len(token) <= _LIBRARY_TOKEN_MAX:
        link = (
            LibraryLink.objects.select_related("library")
            .filter(token_hash=hash_token(token), revoked_at__isnull=True)
            .first()
        )
    if link is None:
        raise LinkInvalid("Unknown library link.")
    return link


def holder_for_link(link: LibraryLink, *, token: str) -> Holder:
    return Holder(library_id=link.library_id, token=token)


def holder_for_account(user: AbstractBaseUser | AnonymousUser) -> Holder | None:
    """The signed-in, active account's holder; None for anyone else."""
    if not user.is_authenticated or not user.is_active or user.pk is None:
        return None
    return Holder(user_id=int(user.pk))


def receipt_hold(session: SessionBase, *, receipt: str) -> None:
    """Remember that this browser placed the order ``receipt`` (its public id)."""
    held = dict(session.get(RECEIPTS_SESSION_KEY, {}))
    held[receipt] = int(time.time())
    newest = sorted(held.items(), key=lambda item: item[1])[-_RECEIPTS_KEPT:]
    session[RECEIPTS_SESSION_KEY] = dict(newest)


def access_receipt(session: SessionBase, *, receipt: str) -> bool:
    """Whether this browser placed the order ``receipt``, recently enough."""
    placed = session.get(RECEIPTS_SESSION_KEY, {}).get(receipt)
    return isinstance(placed, int) and time.time() - placed <= settings.RECEIPT_ACCESS_SECONDS


def holder_for_receipt(
    session: SessionBase, *, receipt: str, entitlement_ids: Iterable[int]
) -> Holder | None:
    """The holder of one order's own purchases, for the browser that placed it."""
    if not access_receipt(session, receipt=receipt):
        return None
    return Holder(entitlement_ids=frozenset(entitlement_ids))


def access_entitlement(*, holder: Holder, entitlement_id: int) -> Entitlement:
    """One of the holder's entitlements (active or not); anything else is :class:`LinkInvalid`."""
    found = Entitlement.objects.filter(holder.entitlements(), pk=entitlement_id).first()
    if found is None:
        raise LinkInvalid("No such purchase.")
    return found
