"""Covers and avatars: stored as re-encoded sizes, found by size, deleted with them."""

from __future__ import annotations

import io
import re
import uuid

from django.core.files import File
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models.fields.files import FieldFile

from catalog.inspection import image_renditions
from catalog.inspection.types import RENDITION_SIZES, MediaRefused
from catalog.media import sniff
from catalog.services import CatalogError


def image_store(*, field: FieldFile, source: File | bytes) -> None:
    """Store a cover or avatar as re-encoded sizes, never as uploaded.

    Each size of ``RENDITION_SIZES`` is written as WebP and JPEG beside each
    other (``<folder>/1200.webp``, ``<folder>/1200.jpg``, ...) without EXIF,
    GPS or other metadata; the field names the largest JPEG, and
    ``image_variant`` finds the others.
    """
    if isinstance(source, bytes):
        data: str | bytes = source
        head = io.BytesIO(source)
    else:
        path = getattr(source, "temporary_file_path", None)
        data = path() if callable(path) else source.read()
        source.seek(0)
        head = source  # type: ignore[assignment]
    mime = sniff(head).mime  # type: ignore[arg-type]
    try:
        renditions = image_renditions(data, mime)
    except MediaRefused as exc:
        raise CatalogError(exc.reason, field=field.field.name) from exc
    folder = f"{field.field.name}s/{uuid.uuid4().hex}"
    storage = field.storage
    for rendition in renditions:
        storage.save(f"{folder}/{rendition.name}", ContentFile(rendition.data))
    field.name = f"{folder}/{renditions[0].name.split('.')[0]}.jpg"


SIZED_IMAGE = re.compile(r"/\d+\.jpg$")


def image_variant(name: str, variant: str) -> str:
    """The stored name of another size of an image stored by ``image_store``."""
    folder, _, _ = name.rpartition("/")
    return f"{folder}/{variant}"


def stored_file_delete(*, field: FieldFile) -> None:
    """Delete a stored file once the transaction commits (an image with all its sizes)."""
    name = field.name
    if name:
        storage = field.storage
        names = [name]
        if SIZED_IMAGE.search(name):  # the other sizes stored beside it by image_store
            names = [
                image_variant(name, f"{size}.{suffix}")
                for size in RENDITION_SIZES
                for suffix in ("webp", "jpg")
            ]

        def delete_all() -> None:
            for stored in names:
                storage.delete(stored)

        transaction.on_commit(delete_all)
