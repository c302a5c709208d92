"""Local days in SQL, the same way on SQLite and PostgreSQL.

A fact (a sale, a refund, a download, a view) belongs to the day its instant
falls on in a seller's timezone. SQLite has no timezone support, so the day
is computed from arithmetic both databases do natively:

    day number = (seconds since 1970-01-01 UTC + UTC offset at that instant) // 86400

where the UTC offset comes from a ``CASE`` over the timezone's transitions
(daylight saving switches) inside the span being read. The day number counts
days since 1970-01-01 in local time; ``day_from_number`` turns it back into a
date. Bounds of local days (``day_start``) are what WHERE clauses compare
against, so indexes on the timestamp columns keep working.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db.models import BigIntegerField, Case, ExpressionWrapper, F, Func, Value, When
from django.db.models.expressions import Combinable

EPOCH_DAY = date(1970, 1, 1)


def zone(name: str) -> ZoneInfo:
    """The named IANA timezone, or UTC for an unknown name: a bad profile never breaks a page."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def day_start(day: date, tz: ZoneInfo) -> datetime:
    """The UTC instant local ``day`` begins at (a midnight that DST skips maps to the jump)."""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def local_date(instant: datetime, tz: ZoneInfo) -> date:
    return instant.astimezone(tz).date()


def day_number(day: date) -> int:
    return (day - EPOCH_DAY).days


def day_from_number(number: int) -> date:
    return EPOCH_DAY + timedelta(days=number)


def _offset(tz: ZoneInfo, instant: datetime) -> int:
    delta = instant.astimezone(tz).utcoffset()
    return int(delta.total_seconds()) if delta is not None else 0


def offset_changes(
    tz_name: str, start: datetime, end: datetime
) -> tuple[tuple[datetime, int], ...]:
    """``((since, offset_seconds), ...)`` covering at least [start, end), oldest first.

    The first entry's ``since`` is where the span starts; each later one is
    the exact instant (to the second) at which the offset changed.
    """
    # Whole UTC days, so that reads a few seconds apart share the cached answer.
    first = datetime.combine(start.astimezone(UTC).date(), time(0), tzinfo=UTC)
    last = datetime.combine(end.astimezone(UTC).date() + timedelta(days=1), time(0), tzinfo=UTC)
    return _offset_changes(tz_name, first, last)


@lru_cache(maxsize=256)
def _offset_changes(
    tz_name: str, start: datetime, end: datetime
) -> tuple[tuple[datetime, int], ...]:
    tz = zone(tz_name)
    changes = [(start, _offset(tz, start))]
    step = timedelta(days=1)  # shorter than the time between two transitions of any zone
    cursor = start
    while cursor < end:
        following = min(cursor + step, end)
        if _offset(tz, following) != changes[-1][1]:
            low, high = cursor, following  # offset(low) is the old one, offset(high) the new
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                middle = middle.replace(microsecond=0)
                if middle <= low:
                    break
                if _offset(tz, middle) == changes[-1][1]:
                    low = middle
                else:
                    high = middle
            changes.append((high, _offset(tz, high)))
        cursor = following
    return tuple(changes)


class EpochSeconds(Func):
    """Whole seconds since 1970-01-01 UTC of a datetime column."""

    output_field = BigIntegerField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        # Django stores aware datetimes as UTC text; strftime('%s') reads it natively.
        # (%%%% here becomes %% in the SQL, which the driver wrapper turns into %.)
        return self.as_sql(
            compiler, connection, template="CAST(strftime('%%%%s', %(expressions)s) AS INTEGER)"
        )

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        # FLOOR: 23:59:59.7 must stay on its day, never round up into the next.
        return self.as_sql(
            compiler, connection, template="FLOOR(EXTRACT(EPOCH FROM %(expressions)s))::bigint"
        )


def local_day(
    field: str,
    tz_name: str,
    start: datetime,
    end: datetime,
    changes: tuple[tuple[datetime, int], ...] | None = None,
) -> Combinable:
    """SQL for the local day number of ``field``, exact for instants in [start, end).

    ``changes`` (from ``offset_changes``) may be given ready-made. The newest
    offset is tested first: recent rows, the bulk of any live read, stop at
    the first WHEN.
    """
    changes = changes or offset_changes(tz_name, start, end)
    if len(changes) == 1:
        offset: Combinable = Value(changes[0][1])
    else:
        offset = Case(
            *[
                When(**{f"{field}__gte": since}, then=Value(seconds))
                for since, seconds in reversed(changes[1:])
            ],
            default=Value(changes[0][1]),
            output_field=BigIntegerField(),
        )
    return ExpressionWrapper(
        (EpochSeconds(F(field)) + offset) / Value(86400), output_field=BigIntegerField()
    )
