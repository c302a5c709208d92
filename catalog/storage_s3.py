"""Paid files on an S3-compatible service: no ``url()``, only a deliberate presign.

Kept apart from ``catalog.storage`` so that boto3 is imported only where
``STORAGE=s3`` asks for it.
"""

from __future__ import annotations

from typing import Any

from storages.backends.s3 import S3Storage

from catalog.storage import IMMUTABLE_CACHE_CONTROL, IMMUTABLE_PUBLIC, NO_URL


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


class PublicS3Storage(S3Storage):
    """The public bucket; objects whose names never change carry long cache headers."""

    def get_object_parameters(self, name: str) -> dict[str, Any]:
        parameters: dict[str, Any] = super().get_object_parameters(name)
        if IMMUTABLE_PUBLIC.match(name):
            parameters.setdefault("CacheControl", IMMUTABLE_CACHE_CONTROL)
        return parameters
