"""The dashboard's big queries, compiled once per shape and run again with new values.

A page's figures come from two ``UNION ALL`` queries of a dozen or more
grouped selects. Django takes longer to build and compile them (tens of
milliseconds) than the database takes to run them once the roll-ups exist,
and their SQL only changes with their *shape*: which of the scope's ids are
set, how many timezone changes fall in the window, the store currency. The
values themselves (instants, days, ids, offsets) are parameters.

So ``cached_facts`` builds a query once with stand-in values (*sentinels*,
values no real query carries: instants and days in 1901, ids below -10¹²),
compiles it, notes which parameter positions hold which stand-in, and from
then on only swaps the real values in, adapted for the database exactly as
Django adapts them (``DatabaseOperations.adapt_*field_value``). The rows are
then the same as the ORM's: the exactness tests read every figure through
this path, with many different values per shape.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connections

from shop.stats.facts import COLUMNS, Fact, fact_from_row

_SENTINEL_INSTANT = datetime(1901, 1, 1, tzinfo=UTC)
_SENTINEL_DAY = date(1901, 6, 1)
_SENTINEL_INT = -(10**12)


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    params: tuple[Any, ...]
    slots: tuple[str | None, ...]  # per parameter: the value it stands for, or None (a constant)


_CACHE: dict[tuple[Any, ...], _Compiled] = {}


def _sentinel(index: int, value: Any) -> Any:
    if isinstance(value, datetime):
        return _SENTINEL_INSTANT + timedelta(seconds=index + 1)
    if isinstance(value, date):
        return _SENTINEL_DAY + timedelta(days=index + 1)
    if isinstance(value, bool):
        raise TypeError("flags change the shape: put them in the key")
    if isinstance(value, int):
        return _SENTINEL_INT - index
    raise TypeError(f"no stand-in for {type(value).__name__}")


def _adapt(connection: Any, value: Any) -> Any:
    if isinstance(value, datetime):
        return connection.ops.adapt_datetimefield_value(value)
    if isinstance(value, date):
        return connection.ops.adapt_datefield_value(value)
    return value


def _hashable(value: Any) -> Any:
    try:
        hash(value)
    except TypeError:
        return repr(value)
    return value


def cached_facts(
    key: tuple[Any, ...],
    build: Callable[[Mapping[str, Any]], Any],
    values: Mapping[str, Any],
    *,
    using: str = "default",
) -> Iterator[Fact]:
    """Run ``build(values)`` (a fact-row queryset) through its cached compiled SQL.

    ``key`` names the shape; values that are None are part of it too.
    """
    connection = connections[using]
    shape = (
        connection.vendor,
        settings.STORE_CURRENCY,
        key,
        tuple(sorted((name, value is None) for name, value in values.items())),
    )
    compiled = _CACHE.get(shape)
    if compiled is None:
        stand_ins = {
            name: None if value is None else _sentinel(index, value)
            for index, (name, value) in enumerate(sorted(values.items()))
        }
        queryset = build(stand_ins)
        sql, params = queryset.query.get_compiler(using=using).as_sql()
        where = {
            _hashable(_adapt(connection, stand_in)): name
            for name, stand_in in stand_ins.items()
            if stand_in is not None
        }
        slots = tuple(where.get(_hashable(param)) for param in params)
        compiled = _Compiled(sql, tuple(params), slots)
        _CACHE[shape] = compiled
    params = [
        _adapt(connection, values[slot]) if slot is not None else param
        for param, slot in zip(compiled.params, compiled.slots, strict=True)
    ]
    with connection.cursor() as cursor:
        cursor.execute(compiled.sql, params)
        for row in cursor.fetchall():
            yield fact_from_row(dict(zip(COLUMNS, row, strict=True)))


def window_values(
    prefix: str, start: datetime, end: datetime, changes: Sequence[Any]
) -> dict[str, Any]:
    """A window's values for ``cached_facts``: its bounds and its timezone's offsets."""
    values: dict[str, Any] = {f"{prefix}start": start, f"{prefix}end": end}
    for index, (since, offset) in enumerate(changes):
        if index:
            values[f"{prefix}t{index}"] = since
        values[f"{prefix}o{index}"] = offset
    return values


def window_changes(
    prefix: str, values: Mapping[str, Any], count: int
) -> tuple[tuple[Any, int], ...]:
    """The offsets ``window_values`` stored, back as ``offset_changes`` gives them."""
    return tuple(
        (
            values[f"{prefix}t{index}"] if index else values[f"{prefix}start"],
            values[f"{prefix}o{index}"],
        )
        for index in range(count)
    )
