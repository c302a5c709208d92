"""Writes for delivery: libraries, their links, entitlements and the download log."""

from __future__ import annotations

import enum
import functools
import hashlib
import ipaddress
import re
import secrets
import threading
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

from catalog.accounts import email_normalize
from catalog.models import Asset, Product
from delivery.models import Download, Entitlement, Library, LibraryLink


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def library_get_or_create(*, email: str) -> Library:
    email = email_normalize(email)
    library = Library.objects.filter(email__iexact=email).first()
    if library is None:
        # Insert unless a concurrent first purchase did (the address is unique whatever its
        # case): no savepoint around the insert, so the caller's transaction stays whole.
        Library.objects.bulk_create([Library(email=email)], ignore_conflicts=True)
        library = Library.objects.get(email__iexact=email)
    return library


def library_link_create(*, library: Library) -> str:
    """Mint a new library link; the token is returned once and only its hash is kept."""
    token = secrets.token_urlsafe(32)
    LibraryLink.objects.create(library=library, token_hash=hash_token(token))
    return token


@transaction.atomic
def library_link_revoke(*, link: LibraryLink) -> None:
    if link.revoked_at is None:
        link.revoked_at = timezone.now()
        link.save(update_fields=["revoked_at"])


@dataclass(frozen=True, slots=True)
class Grant:
    """One purchase to grant; ``download_limit`` None is the product's own."""

    product: Product
    note: str = ""
    download_limit: int | None = None


@transaction.atomic(savepoint=False)
def entitlements_grant(*, email: str, grants: list[Grant]) -> list[Entitlement]:
    """Grant one buyer several purchases: their library found once, one insert.

    No savepoint of its own: inside a payment, a failure undoes the payment."""
    library = library_get_or_create(email=email)
    return Entitlement.objects.bulk_create(
        Entitlement(
            library=library,
            product=grant.product,
            download_limit=(
                grant.download_limit
                if grant.download_limit is not None
                else grant.product.download_limit
            ),
            note=grant.note[:200],
        )
        for grant in grants
    )


def entitlement_grant(
    *, email: str, product: Product, download_limit: int | None = None, note: str = ""
) -> Entitlement:
    [granted] = entitlements_grant(
        email=email, grants=[Grant(product, note=note, download_limit=download_limit)]
    )
    return granted


@transaction.atomic
def entitlement_revoke(*, entitlement: Entitlement, reason: str) -> Entitlement:
    entitlement = Entitlement.objects.select_for_update().get(pk=entitlement.pk)
    if entitlement.status != Entitlement.Status.REVOKED:
        entitlement.status = Entitlement.Status.REVOKED
        entitlement.revoked_reason = reason[:200]
        entitlement.revoked_at = timezone.now()
        entitlement.save(update_fields=["status", "revoked_reason", "revoked_at"])
    return entitlement


def _printable(text: str) -> str:
    # Headers are client input: PostgreSQL refuses NUL bytes in text columns.
    if text.isprintable():
        return text
    return "".join(ch for ch in text if ch.isprintable())


# Pure, and asked again for each request of the same client.
@functools.lru_cache(maxsize=4096)
def ip_network(ip: str | None) -> str:
    """The /24 (IPv4) or /48 (IPv6) network of an address; "" when there is none.

    An IPv4 address seen through IPv6 (``::ffff:203.0.113.9``) counts as IPv4,
    so one client is one network whichever way it connects.
    """
    try:
        address = ipaddress.ip_address(ip or "")
    except ValueError:
        return ""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def download_window_start(now: datetime | None = None) -> datetime:
    return (now or timezone.now()) - timedelta(seconds=settings.DOWNLOAD_WINDOW_SECONDS)


# --- The download path's two statements ------------------------------------------
#
# Every download runs the gate's read and (unless it is a resume already logged)
# the log's insert: on SQLite, Django's cursor wrapper rewrites each statement's
# "%(name)s" placeholders with a regular expression and passes through four
# wrappers on every call, which cost as much as SQLite running the statement.
# The same statement, rewritten once to SQLite's own ":name" placeholders, goes
# straight to the driver, inside Django's error translation. Whenever Django
# watches the queries (DEBUG, assertNumQueries, an execute wrapper) the usual
# cursor runs it instead, so nothing is hidden from them.


@functools.cache
def _sqlite_placeholders(sql: str) -> str:
    return re.sub(r"%\((\w+)\)s", r":\1", sql)


def _driver_allowed(db: BaseDatabaseWrapper) -> bool:
    return (
        db.vendor == "sqlite"
        and db.connection is not None
        and not db.queries_logged
        and not db.execute_wrappers
    )


def db_datetime(db: BaseDatabaseWrapper, value: datetime) -> Any:
    """``value`` as the database takes it: what ``adapt_datetimefield_value``
    gives, without its checks for the common case (SQLite, a UTC time, a UTC
    connection), where it is the naive UTC time as text."""
    if db.vendor == "sqlite" and value.tzinfo is UTC and db.timezone_name == "UTC":
        return value.replace(tzinfo=None).isoformat(" ")
    return db.ops.adapt_datetimefield_value(value)


def hot_fetchone(sql: str, params: dict[str, Any]) -> tuple[Any, ...] | None:
    """Run ``sql`` (named ``%(name)s`` parameters); its first row."""
    db = connections[DEFAULT_DB_ALIAS]
    if _driver_allowed(db):
        with db.wrap_database_errors:
            cursor = db.connection.execute(_sqlite_placeholders(sql), params)
            try:
                return cursor.fetchone()  # type: ignore[no-any-return]
            finally:
                cursor.close()  # ends the statement: an INSERT commits here
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()  # type: ignore[no-any-return]


class Logged(enum.Enum):
    """What :func:`download_record` did with one request for bytes."""

    COUNTED = "counted"  # a new download, counted against the limit: one row
    LOGGED = "logged"  # a resume from a network new in the window: one uncounted row
    COVERED = "covered"  # a resume already logged from this network: nothing written
    REFUSED = "refused"  # it would count beyond the download limit: nothing written


@dataclass(frozen=True, slots=True)
class DownloadRecorded:
    outcome: Logged
    pk: int | None = None


_T = Download._meta.db_table
# The whole decision and the write are one statement, so no lock is held
# while Python works (SQLite holds its write lock for this statement only;
# PostgreSQL takes no row lock). A request is counted when no counted row of
# its entitlement and file is inside the window; it gets the next number,
# and the unique (entitlement, asset, number) makes a parallel twin's insert
# conflict (PostgreSQL waits for the first to commit): ON CONFLICT DO NOTHING
# turns the twin into a resume. A resume is written only from a network the
# window has not seen. With a limit, the number may not pass it. Named
# parameters: see delivery.access. Only table names come from code; every
# value is a bound parameter.
_RECORD_SQL = f"""
INSERT INTO {_T}
    (entitlement_id, asset_id, at, ip, network, user_agent, range_header, counted, number)
SELECT %(e)s, %(a)s, %(at)s, {{ip}}, %(network)s, %(agent)s, %(range)s,
    w.fresh, CASE WHEN w.fresh THEN w.next END
FROM (
    SELECT
        NOT EXISTS (
            SELECT 1 FROM {_T}
            WHERE entitlement_id = %(e)s AND asset_id = %(a)s AND counted AND at >= %(start)s
        ) AS fresh,
        (
            SELECT COALESCE(MAX(number), 0) + 1 FROM {_T}
            WHERE entitlement_id = %(e)s AND asset_id = %(a)s AND counted
        ) AS next
) AS w
WHERE CASE WHEN w.fresh THEN {{cap}} ELSE NOT EXISTS (
    SELECT 1 FROM {_T}
    WHERE entitlement_id = %(e)s AND asset_id = %(a)s AND network = %(network)s
        AND at >= %(start)s
) END {{durability}}
ON CONFLICT DO NOTHING
RETURNING id, counted
"""  # noqa: S608
_IP_FIELD = Download._meta.get_field("ip")
_COUNTED_SINCE_SQL = (
    f"SELECT 1 FROM {_T} "  # noqa: S608
    "WHERE entitlement_id = %(e)s AND asset_id = %(a)s AND counted AND at >= %(start)s"
)


@functools.cache
def _record_sql(vendor: str, *, limited: bool) -> str:
    postgres = vendor == "postgresql"
    sql = _RECORD_SQL.format(
        # A SELECT list does not take the inet type from the column it fills.
        ip="CAST(%(ip)s AS inet)" if postgres else "%(ip)s",
        cap="w.next <= %(limit)s" if limited else "1 = 1",
        # Without a limit, a row lost in a crash in the last moments before it
        # reaches the disk costs a log line, not a paid download: that commit
        # need not wait for the WAL flush. With a limit it must (an uncounted
        # download would be one more than paid for), so it keeps the default.
        durability=(
            "AND set_config('synchronous_commit', 'off', true) IS NOT NULL"
            if postgres and not limited
            else ""
        ),
    )
    return " ".join(sql.split())


# SQLite has one writer at a time, and a connection that finds the lock taken
# sleeps in SQLite's busy handler (1 ms, then 2, 5, 10...): far longer than
# this statement holds it. Threads of one process queue here instead, handed
# the turn as soon as the statement is done; only other processes still meet
# the busy handler.
_SQLITE_WRITER = threading.Lock()


def _writer(vendor: str) -> AbstractContextManager[object]:
    return _SQLITE_WRITER if vendor == "sqlite" else nullcontext()


def download_record(
    *,
    entitlement: Entitlement,
    asset: Asset,
    ip: str | None,
    user_agent: str,
    range_header: str,
    now: datetime | None = None,
) -> DownloadRecorded:
    """Log a request for bytes; it counts against the limit once per window.

    One statement, hence atomic on its own: it is run without opening a
    transaction (that would cost PostgreSQL two more round trips and SQLite
    its write lock from BEGIN IMMEDIATE on). ``now`` is the moment the gate
    judged the request at, so both see the same window.
    """
    now = now or timezone.now()
    limit = entitlement.download_limit
    params: dict[str, Any] = {
        "e": entitlement.pk,
        "a": asset.pk,
        "at": db_datetime(connection, now),
        "start": db_datetime(connection, download_window_start(now)),
        "ip": _IP_FIELD.get_db_prep_value(ip or None, connection),
        "network": ip_network(ip),
        "agent": _printable(user_agent)[:300],
        "range": _printable(range_header)[:100],
        "limit": limit,
    }
    sql = _record_sql(connection.vendor, limited=limit is not None)
    with _writer(connection.vendor):
        row = hot_fetchone(sql, params)
    if row is not None:
        return DownloadRecorded(Logged.COUNTED if row[1] else Logged.LOGGED, int(row[0]))
    if limit is None:
        return DownloadRecorded(Logged.COVERED)
    # Nothing written with a limit: a resume, a parallel twin, or the limit
    # reached since the gate looked. Only a window that is open says which.
    covered = hot_fetchone(_COUNTED_SINCE_SQL, params) is not None
    return DownloadRecorded(Logged.COVERED if covered else Logged.REFUSED)
