"""Finding things in the shop: full-text search, and the listings (home, tags, kinds, sellers).

The index is one table, ``SearchDocument``: a row per *published* product,
written by :mod:`catalog.discovery.services` from every path that changes what
a product says or whether it is listed. The text in it is already folded
(lower case, accents dropped) and cut into words by :mod:`catalog.discovery.text`,
so that both databases see the same words:

- PostgreSQL: a generated, weighted ``tsvector`` column with a GIN index, and
  a trigram index (``pg_trgm``) over names for misspelt searches;
- SQLite: an FTS5 table over the same columns, kept in step by triggers.

Both are created by this app's migration for the database it runs on; the
queries for each live in :mod:`catalog.discovery.backends`, chosen by one selector.
"""
