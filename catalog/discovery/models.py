from __future__ import annotations

from django.db import models

from catalog.models import Product


class SearchDocument(models.Model):
    """What search reads of one published product, folded into words (see ``text.words``).

    The database's own index over these columns (a tsvector on PostgreSQL, FTS5
    on SQLite) is created by the migration, not declared here.
    """

    product = models.OneToOneField(
        Product, on_delete=models.CASCADE, primary_key=True, related_name="search_document"
    )
    title = models.TextField()
    tags = models.TextField(blank=True)
    seller = models.TextField(blank=True)
    tracks = models.TextField(blank=True)
    body = models.TextField(blank=True)
    kind = models.TextField(blank=True)
    # Title, seller and tags together, for the trigram (misspelling) match on PostgreSQL.
    names = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.title
