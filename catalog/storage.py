"""The two storages: private (paid files, no URL) and public (covers, previews).

Fields take a callable so migrations name the function, and the storage is
looked up lazily so a change of ``STORAGES`` (in tests) takes effect at once.
"""

from __future__ import annotations

import re
from typing import Any

from django.core.files.storage import FileSystemStorage, Storage, default_storage, storages
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.functional import LazyObject, empty


class _PublicStorage(LazyObject):
    def _setup(self) -> None:
        self._wrapped = storages["public"]


_public = _PublicStorage()


def public_storage() -> Storage:
    return _public  # type: ignore[return-value]


def private_storage() -> Storage:
    return default_storage


@receiver(setting_changed)
def _reset_public_storage(*, setting: str, **kwargs: Any) -> None:
    if setting in ("STORAGES", "MEDIA_ROOT", "MEDIA_URL"):
        _public._wrapped = empty  # type: ignore[assignment]


NO_URL = "Private files have no URL; downloads go through delivery."


class PrivateFileSystemStorage(FileSystemStorage):
    """Local storage for paid files: it has no URL, so no template can leak one."""

    def url(self, name: str | None) -> str:
        raise ValueError(NO_URL)


# Covers and avatars are stored once under a random folder and never rewritten
# (catalog/services/images.py): a browser or CDN may keep them for a year.
IMMUTABLE_PUBLIC = re.compile(r"^(?:cover|avatar)s/[0-9a-f]{32}/[^/]+$")
IMMUTABLE_CACHE_CONTROL = "public, max-age=31536000, immutable"
