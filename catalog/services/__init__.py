"""Writes for the catalog, one module per noun.

- ``sellers``: sign-up, the shop's profile, email verification (and its task);
- ``products``: products, their pricing, status and tags;
- ``assets``: a product's files, inspected by content, previews, order;
- ``images``: covers and avatars stored as re-encoded sizes.

Accounts live in ``catalog.accounts``, uploads in ``catalog.uploads.services``,
catalog imports in ``catalog.imports``. Import each function from the module
that defines it; this package holds only the error they share.

Everything here is called by views that already passed the ownership gate
(``catalog/access.py``); these functions check the rules of the catalog itself.
"""

from __future__ import annotations


class CatalogError(Exception):
    """A refusal a person can act on; ``field`` names the form field it concerns."""

    def __init__(self, message: str, *, field: str | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.status = status
