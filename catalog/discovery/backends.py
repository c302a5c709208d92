"""The search query for each database, behind one selector (:func:`search_backend`).

A backend narrows a queryset of products to those matching the words and
annotates ``rank`` (higher is better). The words come from
``text.query_words``: letters and digits only, so nothing a visitor typed
reaches a query parser, and the SQL itself takes them as parameters.
"""

from __future__ import annotations

from django.contrib.postgres.search import TrigramWordSimilarity
from django.db import connection
from django.db.models import F, QuerySet

from catalog.models import Product

# Below this, a "close" name is noise.
SIMILARITY_MIN = 0.4


class SearchBackend:
    """Finds nothing: a database without a full-text index of its own."""

    fuzzy = False

    def match(self, products: QuerySet[Product], terms: list[str]) -> QuerySet[Product]:
        return products.none()

    def similar(self, products: QuerySet[Product], terms: list[str]) -> QuerySet[Product]:
        """Products whose names look like the words (typos); none where unsupported."""
        return products.none()


class PostgresBackend(SearchBackend):
    """The generated tsvector (weights A to D) with ``ts_rank_cd``; pg_trgm for typos."""

    fuzzy = True

    def match(self, products: QuerySet[Product], terms: list[str]) -> QuerySet[Product]:
        tsquery = " & ".join(f"{term}:*" for term in terms)
        # A join (not a subquery per row): the document's vector is matched and ranked once.
        # Fixed SQL; the words are a parameter.
        return products.extra(
            tables=["discovery_searchdocument"],
            where=[
                "discovery_searchdocument.product_id = catalog_product.id",
                "discovery_searchdocument.vector @@ to_tsquery('simple', %s)",
            ],
            params=[tsquery],
            select={
                "rank": "ts_rank_cd(discovery_searchdocument.vector, to_tsquery('simple', %s))"
            },
            select_params=[tsquery],
        )

    def similar(self, products: QuerySet[Product], terms: list[str]) -> QuerySet[Product]:
        return (
            products.filter(search_document__isnull=False)
            .annotate(rank=TrigramWordSimilarity(" ".join(terms), F("search_document__names")))
            .filter(rank__gte=SIMILARITY_MIN)
        )


class SqliteBackend(SearchBackend):
    """FTS5 with ``bm25`` weighted per column (title and tags first, kind last)."""

    def match(self, products: QuerySet[Product], terms: list[str]) -> QuerySet[Product]:
        # Each word quoted (a string, never an operator), as a prefix, all required.
        expression = " AND ".join(f'"{term}"*' for term in terms)
        # A join with the FTS table: one MATCH for the whole query. Fixed SQL; the
        # expression is a parameter. Weights: title, tags, seller, tracks, body, kind.
        return products.extra(
            tables=["discovery_fts"],
            where=["discovery_fts.rowid = catalog_product.id", "discovery_fts MATCH %s"],
            params=[expression],
            select={"rank": "-bm25(discovery_fts, 10.0, 8.0, 4.0, 4.0, 1.0, 0.5)"},
        )


def search_backend() -> SearchBackend:
    """The backend of the database in use."""
    if connection.vendor == "postgresql":
        return PostgresBackend()
    if connection.vendor == "sqlite":
        return SqliteBackend()
    return SearchBackend()
