"""Queries compiled once per shape and run again with new values (decisions 23 and 98).

Django takes longer to build and compile some queries than the database takes
to run them: the dashboard's ``UNION ALL`` of a dozen grouped selects, and a
listing page's one select (a quarter of a millisecond of compiling for 50
microseconds in SQLite). Their SQL only changes with their *shape*: which
filters are set, the sort, the page size, the store currency. The values
themselves (instants, ids, prices, slugs) are parameters.

So ``compiled`` builds a query once with stand-in values (*sentinels*, values
no real query carries: instants and days in 1901, integers from two
billion up, strings that start with a NUL, a list of one such integer for a
list of ids passed whole), compiles it, notes which parameter positions
hold which stand-in, and from then on only swaps the real values in, adapted
for the database exactly as Django adapts them
(``DatabaseOperations.adapt_*field_value``). A flag (a ``bool``) changes the
SQL itself, so it cannot have a stand-in: it belongs in the shape's key, as
does whether each value is None. Integer stand-ins stay inside a 32-bit
column's range: Django drops a comparison with a value the column cannot
hold (it is always true or always false), and a value missing from the
parameters so is refused rather than lost.

The compiled shapes are kept per process, keyed by the database's vendor, so
a process that talks to SQLite and PostgreSQL keeps one of each.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any, TypeVar, overload

from django.db import connections
from django.db.models import Model, QuerySet

_SENTINEL_INSTANT = datetime(1901, 1, 1, tzinfo=UTC)
_SENTINEL_DAY = date(1901, 6, 1)
_SENTINEL_INT = 2_000_000_000
_SENTINEL_STR = "\x00sqlshape:{}\x00"


@dataclass(frozen=True, slots=True, eq=False)
class Compiled:
    sql: str
    params: tuple[Any, ...]
    slots: tuple[str | None, ...]  # per parameter: the value it stands for, or None (a constant)
    columns: tuple[Any, ...]  # each column's expression (a Col names its field, for converters)
    # Per model whose fields are selected: where its columns are, and their attribute names.
    models: Mapping[type[Model], tuple[tuple[int, ...], tuple[str, ...]]]
    places: Mapping[tuple[type[Model], str], int]  # (model, attname) -> column


_CACHE: dict[tuple[Any, ...], Compiled] = {}

M = TypeVar("M", bound=Model)


def _sentinel(index: int, value: Any) -> Any:
    if isinstance(value, datetime):
        return _SENTINEL_INSTANT + timedelta(seconds=index + 1)
    if isinstance(value, date):
        return _SENTINEL_DAY + timedelta(days=index + 1)
    if isinstance(value, bool):
        raise TypeError("flags change the shape: put them in the key")
    if isinstance(value, int):
        return _SENTINEL_INT + index
    if isinstance(value, str):
        return _SENTINEL_STR.format(index)
    if isinstance(value, list):
        # A list of ids, passed whole as one parameter (an array on PostgreSQL).
        return [_SENTINEL_INT + index]
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


def _layout(columns: tuple[Any, ...]) -> tuple[dict[Any, Any], dict[Any, int]]:
    fields = [getattr(column, "target", None) for column in columns]
    places = {(f.model, f.attname): i for i, f in enumerate(fields) if f is not None}
    models: dict[Any, Any] = {}
    for (model, name), place in places.items():
        at, names = models.get(model, ((), ()))
        models[model] = ((*at, place), (*names, name))
    return models, places


def compiled(
    key: tuple[Any, ...],
    build: Callable[[Mapping[str, Any]], QuerySet[Any]],
    values: Mapping[str, Any],
    *,
    using: str = "default",
    all_used: bool = True,
) -> tuple[Compiled, list[Any]]:
    """The SQL of ``build(values)``, compiled once for ``key``'s shape, and its parameters
    for ``values``. ``key`` names the shape; which values are None is part of it too.

    A value given but missing from the parameters is refused (``ValueError``), unless
    ``all_used`` is false: for callers whose shapes leave some values out on purpose."""
    connection = connections[using]
    shape = (
        connection.vendor,
        key,
        tuple(sorted((name, value is None) for name, value in values.items())),
    )
    found = _CACHE.get(shape)
    if found is None:
        stand_ins = {
            name: None if value is None else _sentinel(index, value)
            for index, (name, value) in enumerate(sorted(values.items()))
        }
        compiler = build(stand_ins).query.get_compiler(using=using)
        sql, params = compiler.as_sql()
        where = {
            _hashable(_adapt(connection, stand_in)): name
            for name, stand_in in stand_ins.items()
            if stand_in is not None
        }
        slots = tuple(where.get(_hashable(param)) for param in params)
        missing = set(where.values()) - set(slots)
        if missing and all_used:
            # A value that reached the SQL other than as a parameter would be lost.
            raise ValueError(f"not parameters of the compiled query: {sorted(missing)}")
        columns = tuple(col for col, _sql, _alias in compiler.select)
        found = _CACHE[shape] = Compiled(sql, tuple(params), slots, columns, *_layout(columns))
    params = [
        _adapt(connection, values[slot]) if slot is not None else param
        for param, slot in zip(found.params, found.slots, strict=True)
    ]
    return found, params


_Converters = dict[int, tuple[list[Callable[..., Any]], Any]]


@lru_cache(maxsize=1024)
def _converters(query: Compiled, connection: Any) -> _Converters:
    """Per column: how the ORM converts its values from the driver's (SQLite's text for a
    datetime, say), as ``SQLCompiler.get_converters`` finds them; kept per compiled query
    and connection (each thread has its own)."""
    found: _Converters = {}
    for place, column in enumerate(query.columns):
        functions = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        if functions:
            found[place] = (functions, column)
    return found


class Rows(Sequence[M]):
    """The rows of a compiled query of ``model``, made into instances only when one is
    asked for (``rows[i]``), by ``Model.from_db`` from the columns the query selected
    (the others deferred), each value converted as the ORM converts it; ``related``
    names the forward foreign keys whose models' columns the query also selected
    (``select_related``), set on each instance. ``value`` reads one column of a row
    without making anything."""

    def __init__(
        self,
        query: Compiled,
        rows: list[tuple[Any, ...]],
        model: type[M],
        related: Mapping[str, type[Model]],
        using: str,
        converters: _Converters,
    ) -> None:
        self._query, self._rows, self._model, self._related = query, rows, model, related
        self._using, self._converters = using, converters
        self._made: dict[int, M] = {}

    def __len__(self) -> int:
        return len(self._rows)

    @overload
    def __getitem__(self, index: int) -> M: ...

    @overload
    def __getitem__(self, index: slice) -> Rows[M]: ...

    def __getitem__(self, index: int | slice) -> M | Rows[M]:
        if isinstance(index, slice):
            return Rows(
                self._query,
                self._rows[index],
                self._model,
                self._related,
                self._using,
                self._converters,
            )
        index = range(len(self._rows))[index]
        made = self._made.get(index)
        if made is None:
            made = self._made[index] = self._make(index)
        return made

    def _convert(self, index: int, place: int) -> Any:
        value = self._rows[index][place]
        found = self._converters.get(place)
        if found is not None:
            functions, column = found
            connection = connections[self._using]
            for function in functions:
                value = function(value, column, connection)
        return value

    def _make(self, index: int) -> M:
        models = self._query.models

        def made(model: type[Model]) -> Any:
            places, names = models[model]
            values = [self._convert(index, place) for place in places]
            return model.from_db(self._using, list(names), values)

        instance: M = made(self._model)
        for field, other in self._related.items():
            setattr(instance, field, made(other))
        return instance

    def value(self, index: int, model: type[Model], attname: str) -> Any:
        """Column ``attname`` of ``model`` in row ``index``, as the instance would hold it."""
        return self._convert(index, self._query.places[(model, attname)])

    def values(self, fields: Sequence[tuple[type[Model], str]]) -> list[tuple[Any, ...]]:
        """``value`` of each of ``fields`` (model, attname), for every row."""
        places = [self._query.places[field] for field in fields]
        if not self._converters.keys() & set(places):
            return [tuple(row[place] for place in places) for row in self._rows]
        return [
            tuple(self._convert(index, place) for place in places)
            for index in range(len(self._rows))
        ]


def fetch(
    query: Compiled,
    params: list[Any],
    model: type[M],
    *,
    related: Mapping[str, type[Model]] | None = None,
    using: str = "default",
) -> Rows[M]:
    """Run a compiled query of ``model`` (through Django's cursor, so tests and the
    debug tools see it): its ``Rows``."""
    connection = connections[using]
    with connection.cursor() as cursor:
        cursor.execute(query.sql, params)
        found = cursor.fetchall()
    return Rows(query, found, model, related or {}, using, _converters(query, connection))
