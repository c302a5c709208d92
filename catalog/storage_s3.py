"""Paid files on an S3-compatible service: no ``url()``, only a deliberate presign.

Kept apart from ``catalog.storage`` so that boto3 is imported only where
``STORAGE=s3`` asks for it.
"""

from __future__ import annotations

from typing import Any

from storages.backends.s3 import S3Storage

from catalog.storage import NO_URL


class PrivateS3Storage(S3Storage):
    """Like ``PrivateFileSystemStorage``: a template or the admin asking for a paid
    file's URL gets an error, not a working link. ``delivery.serving`` presigns
    one, after the download gate, with ``presigned_url``."""

    def url(self, name: str | None, *args: Any, **kwargs: Any) -> str:
        raise ValueError(NO_URL)

    def presigned_url(
        self, name: str, *, expire: int, parameters: dict[str, str] | None = None
    ) -> str:
        """A GET URL for ``name`` valid ``expire`` seconds (``parameters``: response overrides)."""
        return super().url(name, parameters=parameters, expire=expire)
