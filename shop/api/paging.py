"""Cursor pages: newest first, keyset on (time, id), the cursor opaque and signed.

A cursor names the last row of the page before: ``[time in microseconds, id]``,
signed with its own salt per list (``django.core.signing``), so a client
cannot edit one into another list or another position; an unreadable cursor
is a 400. The next page is the rows strictly before that (time, id) pair, so
rows with equal times are neither repeated nor skipped, and rows added
meanwhile never shift a page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.core import signing
from django.db.models import Q, QuerySet

from shop.api.errors import ApiError

LIMIT_DEFAULT = 50
LIMIT_MAX = 100
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class Page:
    rows: list[Any]
    next: str | None


def _salt(name: str) -> str:
    return f"shop.api.cursor:{name}"


def cursor_encode(name: str, at: datetime, pk: int) -> str:
    micros = (at - EPOCH) // MICROSECOND  # exact, where a float timestamp rounds
    return signing.dumps([micros, pk], salt=_salt(name), compress=False)


def cursor_decode(name: str, cursor: str) -> tuple[datetime, int]:
    try:
        micros, pk = signing.loads(cursor, salt=_salt(name))
        at = EPOCH + int(micros) * MICROSECOND
        return at, int(pk)
    except (signing.BadSignature, ValueError, TypeError, OverflowError, OSError):
        raise ApiError(
            400,
            "bad_cursor",
            "This cursor is not one this list gave out. Use the 'next' value of the "
            "previous page as it came, or leave the cursor out to start again.",
        ) from None


def page_read(
    rows: QuerySet[Any],
    *,
    name: str,
    time_field: str,
    cursor: str | None,
    limit: int,
    time_of: Any,
) -> Page:
    """One page of ``rows`` (newest first); ``time_of(row)`` reads ``time_field`` of a row."""
    if cursor:
        at, pk = cursor_decode(name, cursor)
        rows = rows.filter(Q(**{f"{time_field}__lt": at}) | Q(**{time_field: at, "pk__lt": pk}))
    found = list(rows.order_by(f"-{time_field}", "-pk")[: limit + 1])
    more = len(found) > limit
    found = found[:limit]
    last = found[-1] if more and found else None
    return Page(
        rows=found,
        next=cursor_encode(name, time_of(last), last.pk) if last is not None else None,
    )
