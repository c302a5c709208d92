"""The search query for each database, behind one selector (:func:`search_backend`).

A backend narrows a queryset of products to those matching the words and
annotates ``rank`` (higher is better). The words come from
``text.query_words``: letters and digits only, so nothing a visitor typed
reaches a query parser, and the SQL itself takes them as parameters.
"""

from __future__ import annotations

import bisect
import itertools
import time
from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.postgres.search import TrigramWordSimilarity
from django.db import connection
from django.db.models import F, QuerySet

from catalog.models import Product

# Below this, a "close" name is noise.
SIMILARITY_MIN = 0.4


class SearchBackend:
    """Finds nothing: a database without a full-text index of its own."""

    fuzzy = False

    def match(
        self, products: QuerySet[Product], terms: list[str], *, floor: int | None = None
    ) -> QuerySet[Product]:
        """The products matching every word, with ``rank``; from id ``floor`` up if given."""
        return self.match_text(products, self.query_text(terms), floor=floor)

    def query_text(self, terms: list[str]) -> str:
        """The words as the index's own query language: the one parameter ``match_text``
        passes to the database (so a query compiled once takes new words as a value)."""
        return " ".join(terms)

    def match_text(
        self,
        products: QuerySet[Product],
        text: str,
        *,
        floor: int | None = None,
        ids: list[int] | None = None,
        ranked: bool = True,
    ) -> QuerySet[Product]:
        """``match`` for words already written by ``query_text``; ``ranked=False`` for a
        list sorted otherwise, which may leave ``rank`` out; ``ids``: among these
        products only (every match, as ``candidates`` found them)."""
        return products.none()

    def similar(self, products: QuerySet[Product], terms: list[str]) -> QuerySet[Product]:
        """Products whose names look like the words (typos); none where unsupported."""
        return products.none()

    def newest_floor(self, terms: list[str], count: int) -> int | None:
        """The id of the ``count``-th newest product matching the words, from the index
        alone (no ranking, no join); None when fewer match."""
        return None

    def candidates(self, terms: list[str], count: int) -> int | list[int] | None:
        """What a ranked search ranks: an id (rank the matches from it up: the ``count``
        newest), the ids of every match when fewer than ``count`` match and the index
        gives them as cheaply, or None (rank every match)."""
        return self.newest_floor(terms, count)

    def _first_id(self, sql: str, params: list[str | int]) -> int | None:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        return int(row[0]) if row else None


# How many of the newest documents per candidate the first floor question reads (see
# ``PostgresBackend.candidates``): a word in at least a tenth of them is found there.
FLOOR_WALK = 10


# How long a process keeps the words' shares ANALYZE found (``lexeme_shares``).
SHARES_SECONDS = 300.0


@dataclass(frozen=True)
class Shares:
    """The commonest words of the search documents, sorted, and the running sum of their
    shares: the words that start with a prefix are one slice of them."""

    words: tuple[str, ...]
    sums: tuple[float, ...]  # sums[i]: the shares of words[:i]

    @classmethod
    def of_pairs(cls, pairs: Iterable[tuple[str, float]]) -> Shares:
        ordered = sorted(pairs)
        return cls(
            words=tuple(word for word, _share in ordered),
            sums=(0.0, *itertools.accumulate(share for _word, share in ordered)),
        )

    def of_prefix(self, prefix: str) -> float:
        """The shares of the listed words starting with ``prefix``, added up."""
        start = bisect.bisect_left(self.words, prefix)
        end = bisect.bisect_left(self.words, prefix + "\U0010ffff", lo=start)
        return self.sums[end] - self.sums[start]


# (when read, what was read); replaced whole, so threads need no lock (two may both read).
_shares: tuple[float, Shares | None] | None = None


def lexeme_shares() -> Shares | None:
    """The share of the search documents holding each of the commonest words, as ANALYZE
    last found them (``pg_stats.most_common_elems``, about the thousand commonest), read
    once per ``SHARES_SECONDS`` per process; None before any ANALYZE."""
    global _shares
    now = time.monotonic()
    kept = _shares
    if kept is not None and now - kept[0] < SHARES_SECONDS:
        return kept[1]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT most_common_elems::text::text[], most_common_elem_freqs FROM pg_stats"
            " WHERE schemaname = current_schema() AND tablename = 'discovery_searchdocument'"
            " AND attname = 'vector'"
        )
        row = cursor.fetchone()
    found = None
    if row and row[0] is not None:
        # The frequencies end with three figures of their own (lowest, highest, nulls).
        found = Shares.of_pairs(zip(row[0], row[1], strict=False))
    _shares = (now, found)
    return found


def lexeme_shares_forget() -> None:
    global _shares
    _shares = None


def _may_be_common(terms: list[str], walked: float) -> bool:
    """Whether the words may be in ``walked`` of the documents (a share), by the statistics:
    each word's share is at most the sum of its prefix's common words, and one not among
    them is rarer than all of those. Without statistics, perhaps."""
    shares = lexeme_shares()
    return shares is None or all(shares.of_prefix(term) >= walked for term in terms)


class PostgresBackend(SearchBackend):
    """The generated tsvector (weights A to D) with ``ts_rank_cd``; pg_trgm for typos."""

    fuzzy = True

    def query_text(self, terms: list[str]) -> str:
        return _tsquery(terms)

    def match_text(
        self,
        products: QuerySet[Product],
        text: str,
        *,
        floor: int | None = None,
        ids: list[int] | None = None,
        ranked: bool = True,
    ) -> QuerySet[Product]:
        tsquery = text
        bound: list[str] = []
        values: list[int | list[int]] = []
        if floor is not None:
            bound.append("discovery_searchdocument.product_id >= %s")
            values.append(floor)
        if ids is not None:
            # The planner then knows how few rows it joins: for a prefix it guesses 2 % of
            # the documents whatever the word, and walked every product for three matches.
            bound.append("discovery_searchdocument.product_id = ANY(%s)")
            values.append(ids)
        # A join (not a subquery per row): the document's vector is matched and ranked once.
        # Fixed SQL; the words are a parameter.
        return products.extra(  # noqa: S610 — fixed SQL fragments, every value a parameter
            tables=["discovery_searchdocument"],
            where=[
                "discovery_searchdocument.product_id = catalog_product.id",
                "discovery_searchdocument.vector @@ to_tsquery('simple', %s)",
                *bound,
            ],
            params=[tsquery, *values],
            select={
                "rank": "ts_rank_cd(discovery_searchdocument.vector, to_tsquery('simple', %s))"
            },
            select_params=[tsquery],
        )

    def newest_floor(self, terms: list[str], count: int) -> int | None:
        found = self.candidates(terms, count)
        return found if isinstance(found, int) else None

    def candidates(self, terms: list[str], count: int) -> int | list[int] | None:
        # PostgreSQL estimates a prefix query (``night:*``) at 2 % of the documents whatever
        # the word, so for every word it walked the documents newest first, testing each:
        # 1 ms for a word in a third of 100,000 documents, 36 ms for one in three. Two
        # bounded questions instead (decision 108). First, among the newest
        # ``count * FLOOR_WALK`` documents only: a common word is there. A word the
        # statistics call rare (in under half that share) would not be, and skips it:
        # the walk cost a rare word 4 ms at 100,000 products (decision 109).
        text = _tsquery(terms)
        if _may_be_common(terms, 1 / (2 * FLOOR_WALK)):
            found = self._first_id(
                "SELECT product_id FROM (SELECT product_id, vector"
                " FROM discovery_searchdocument ORDER BY product_id DESC LIMIT %s) AS newest"
                " WHERE vector @@ to_tsquery('simple', %s)"
                " ORDER BY product_id DESC LIMIT 1 OFFSET %s",
                [count * FLOOR_WALK, text, count - 1],
            )
            if found is not None:
                return found
        # Then every match through the GIN index, which the planner is kept from walking
        # around (MATERIALIZED): a rarer word has few. Fewer than ``count``: all of them,
        # for the ranking to join just those (decision 109).
        with connection.cursor() as cursor:
            cursor.execute(
                "WITH matches AS MATERIALIZED (SELECT product_id FROM discovery_searchdocument"
                " WHERE vector @@ to_tsquery('simple', %s))"
                " SELECT product_id FROM matches ORDER BY product_id DESC LIMIT %s",
                [text, count],
            )
            newest = [int(row[0]) for row in cursor.fetchall()]
        return newest[-1] if len(newest) == count else newest

    def similar(self, products: QuerySet[Product], terms: list[str]) -> QuerySet[Product]:
        return (
            products.filter(search_document__isnull=False)
            .annotate(rank=TrigramWordSimilarity(" ".join(terms), F("search_document__names")))
            .filter(rank__gte=SIMILARITY_MIN)
        )


class SqliteBackend(SearchBackend):
    """FTS5 with ``bm25`` weighted per column (title and tags first, kind last)."""

    def query_text(self, terms: list[str]) -> str:
        return _fts_expression(terms)

    def match_text(
        self,
        products: QuerySet[Product],
        text: str,
        *,
        floor: int | None = None,
        ids: list[int] | None = None,
        ranked: bool = True,
    ) -> QuerySet[Product]:
        # ``candidates`` gives no ids here: FTS5 joins its matches by rowid already.
        expression = text
        if not ranked:
            # Sorted by date or price, SQLite walks that index and, joined, ran the whole
            # MATCH again for every product it passed (12 ms for a rare word among 1,000
            # products, growing with the catalog); as a list, the MATCH runs once.
            # Fixed SQL; the expression is a parameter.
            return products.extra(
                where=[
                    "catalog_product.id IN"
                    " (SELECT rowid FROM discovery_fts WHERE discovery_fts MATCH %s)"
                ],
                params=[expression],
            )
        # On the index's own rowid, so FTS5 starts there instead of walking every match.
        bound = [] if floor is None else ["discovery_fts.rowid >= %s"]
        # A join with the FTS table: one MATCH for the whole query. Fixed SQL; the
        # expression is a parameter. Weights: title, tags, seller, tracks, body, kind.
        return products.extra(  # noqa: S610 — fixed SQL fragments, every value a parameter
            tables=["discovery_fts"],
            where=["discovery_fts.rowid = catalog_product.id", "discovery_fts MATCH %s", *bound],
            params=[expression, *([] if floor is None else [floor])],
            select={"rank": "-bm25(discovery_fts, 10.0, 8.0, 4.0, 4.0, 1.0, 0.5)"},
        )

    def newest_floor(self, terms: list[str], count: int) -> int | None:
        return self._first_id(
            "SELECT rowid FROM discovery_fts WHERE discovery_fts MATCH %s"
            " ORDER BY rowid DESC LIMIT 1 OFFSET %s",
            [_fts_expression(terms), count - 1],
        )


def _tsquery(terms: list[str]) -> str:
    return " & ".join(f"{term}:*" for term in terms)


def _fts_expression(terms: list[str]) -> str:
    # Each word quoted (a string, never an operator), as a prefix, all required.
    return " AND ".join(f'"{term}"*' for term in terms)


def search_backend() -> SearchBackend:
    """The backend of the database in use."""
    if connection.vendor == "postgresql":
        return PostgresBackend()
    if connection.vendor == "sqlite":
        return SqliteBackend()
    return SearchBackend()
