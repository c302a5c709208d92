"""The dashboard's big queries, compiled once per shape and run again with new values.

A page's figures come from two ``UNION ALL`` queries of a dozen or more
grouped selects. Django takes longer to build and compile them (tens of
milliseconds) than the database takes to run them once the roll-ups exist,
and their SQL only changes with their *shape*: which of the scope's ids are
set, how many timezone changes fall in the window, the store currency. The
values themselves (instants, days, ids, offsets) are parameters.

So ``cached_facts`` compiles each shape once through ``catalog.sqlshape``
(stand-in values, swapped for the real ones at each run, adapted as Django
adapts them) and reads the rows as facts. The rows are then the same as the
ORM's: the exactness tests read every figure through this path, with many
different values per shape.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connections

from catalog.sqlshape import compiled
from shop.stats.facts import COLUMNS, Fact, fact_from_row


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
    # A scope's values reach only the selects that filter on them (a product's figures
    # leave its seller out).
    query, params = compiled(
        ("facts", settings.STORE_CURRENCY, key), build, values, using=using, all_used=False
    )
    with connections[using].cursor() as cursor:
        cursor.execute(query.sql, params)
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
