"""A product's files (assets): stored, described by their content, ordered, removed."""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext

from catalog.discovery.services import product_index
from catalog.inspection import Inspection, inspect_path
from catalog.inspection.types import INSPECTION_FIELDS, MediaRefused
from catalog.media import safe_filename, sha256_and_size
from catalog.models import Asset, Product
from catalog.quotas import quota_check
from catalog.selectors import product_has_sales
from catalog.services import CatalogError
from catalog.services.images import image_store, stored_file_delete


@transaction.atomic
def asset_create(
    *,
    product: Product,
    file: File,
    original_filename: str,
    role: str = Asset.Role.DELIVERABLE,
    position: int = 0,
    metadata: dict[str, object] | None = None,
) -> Asset:
    """Store a file for a product, described by its content, not its name."""
    original_filename = safe_filename(original_filename)
    asset = Asset(
        product=product, role=role, position=position, original_filename=original_filename
    )
    asset_describe(asset=asset, file=file)
    if metadata:
        asset.metadata = {**asset.metadata, **metadata}
    # Previews go to the public storage (the page's players fetch them), the rest
    # to the private one; `Asset.stored` is whichever field the role uses.
    asset.stored.save(original_filename, file, save=False)
    try:
        asset.save()
    except Exception:
        stored_file_delete(field=asset.stored)
        raise
    product_index(product=product)
    return asset


def asset_describe(*, asset: Asset, file: File, content_type: str | None = None) -> Inspection:
    """Fill size, hash, detected type and metadata from the content, or refuse the file.

    The bytes are streamed for the hash, and read by `catalog.inspection` in a
    child process bounded in time and memory (the same code as `manage.py
    inspect_media`), on the file's own path when it has one (an upload's
    temporary file, a file opened from disk), else on a temporary copy.
    `asset.original_filename` and `content_type` (what the browser said) are
    claims: a contradiction with the content refuses the file.

    Raises `MediaRefused` (its `reason` is written for the seller). Returns the
    inspection, whose `cover` holds embedded cover art the caller may offer.
    """
    with _inspectable_copy(file) as (path, digest, size):
        found = inspect_path(
            path,
            claimed_name=asset.original_filename or file.name,
            claimed_type=content_type,
        )
    asset.sha256, asset.size_bytes = digest, size
    asset.kind, asset.mime_type = found.kind, found.mime[:100]
    # Facts from a previous file (an admin replacing it) must not survive.
    kept = {k: v for k, v in (asset.metadata or {}).items() if k not in INSPECTION_FIELDS}
    asset.metadata = {**kept, **found.details()}
    return found


@contextmanager
def _inspectable_copy(file: File) -> Iterator[tuple[str, str, int]]:
    """(path, SHA-256, size) of `file`: its own path when it has one, else a temporary copy.

    Either way the bytes are read in chunks; a copy is hashed while it is written.
    """
    temporary_path = getattr(file, "temporary_file_path", None)
    raw = getattr(file, "file", file)
    name = getattr(raw, "name", None)
    own = temporary_path() if callable(temporary_path) else name
    if isinstance(own, str) and (callable(temporary_path) or _is_open_file_at(raw, own)):
        digest, size = sha256_and_size(file)  # type: ignore[arg-type]
        yield own, digest, size
        return
    hasher, size = hashlib.sha256(), 0
    with tempfile.NamedTemporaryFile(
        prefix="echoppe-inspect-", dir=settings.FILE_UPLOAD_TEMP_DIR
    ) as copy:
        for chunk in file.chunks():
            hasher.update(chunk)
            size += len(chunk)
            copy.write(chunk)
        copy.flush()
        file.seek(0)
        yield copy.name, hasher.hexdigest(), size


def _is_open_file_at(handle: object, path: str) -> bool:
    """Whether `path` names the very file `handle` has open (not one that shares its name)."""
    try:
        opened = os.fstat(handle.fileno())  # type: ignore[attr-defined]
        named = os.stat(path)
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return False
    return (opened.st_dev, opened.st_ino) == (named.st_dev, named.st_ino)


def asset_inspect(*, asset: Asset, file: File, content_type: str | None = None) -> Inspection:
    """Inspect through `asset_describe`, turning its refusal into a CatalogError."""
    try:
        return asset_describe(asset=asset, file=file, content_type=content_type)
    except MediaRefused as exc:
        raise CatalogError(exc.reason or "This file could not be read.", field="file") from exc


# What a public preview may be: types every browser shows itself, and nothing a
# browser would run (an SVG or HTML preview served from the shop's own origin could).
PREVIEW_TYPES = {
    "application/pdf": "pdf",
    "application/epub+zip": "epub",
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
}


def preview_name(asset: Asset) -> str:
    """The stored name of a preview, its extension from the detected type, not the
    seller's file name (the public storage serves by extension)."""
    mime = asset.mime_type.split(";")[0].strip()
    if mime in PREVIEW_TYPES:
        return f"preview.{PREVIEW_TYPES[mime]}"
    if mime.startswith(("audio/", "video/")) and asset.kind in ("audio", "video"):
        known = {"audio/mpeg": "mp3", "audio/mp4": "m4a", "video/quicktime": "mov"}
        suffix = known.get(mime) or mime.split("/", 1)[1].removeprefix("x-")
        suffix = {"matroska": "mkv", "wave": "wav", "vnd.wave": "wav"}.get(suffix, suffix)
        return f"preview.{suffix if suffix.isalnum() else 'bin'}"
    raise CatalogError(
        gettext(
            "A public preview must be audio, video, a PDF, an EPUB or an "
            "image; this file is %(mime_type)s. Add it as a file for "
            "buyers instead."
        )
        % {"mime_type": asset.mime_type},
        field="file",
    )


def product_cover_offer(*, product: Product, inspection: Inspection) -> None:
    """Embedded cover art (an album's) becomes the cover of a product that has none;
    the seller can replace it on the product page."""
    art = getattr(inspection, "cover", None)
    if art is None or product.cover:
        return
    try:
        image_store(field=product.cover, source=art.data)
    except CatalogError:
        return  # art the image reader refuses is simply not offered
    Product.objects.filter(pk=product.pk).update(cover=product.cover.name)


def asset_next_position(*, product: Product, role: str) -> int:
    last = product.assets.filter(role=role).aggregate(last=Max("position"))["last"]
    return (last or 0) + 1


def asset_upload(*, product: Product, role: str, file: File, original_filename: str) -> Asset:
    """A file sent in one request (the form without JavaScript); big files use uploads."""
    if role not in Asset.Role.values:
        raise CatalogError(gettext("Choose whether the file is for buyers or a public preview."))
    size = getattr(file, "size", None)
    if size is not None:  # refused before the inspection reads it
        quota_check(seller=product.seller, adding=size)
    asset = Asset(product=product, role=role, original_filename=safe_filename(original_filename))
    inspection = asset_inspect(
        asset=asset, file=file, content_type=getattr(file, "content_type", None)
    )
    stored_as = asset.original_filename
    if role == Asset.Role.PREVIEW:
        stored_as = preview_name(asset)
    asset.stored.save(stored_as, file, save=False)
    try:
        with transaction.atomic():
            asset.position = asset_next_position(product=product, role=role)
            asset.save()
            product_cover_offer(product=product, inspection=inspection)
            product_index(product=product)
    except Exception:
        asset.stored.storage.delete(asset.stored.name or "")
        raise
    return asset


def _renumber(product: Product, role: str) -> None:
    for index, asset in enumerate(
        product.assets.filter(role=role).order_by("position", "id").select_for_update(), start=1
    ):
        if asset.position != index:
            Asset.objects.filter(pk=asset.pk).update(position=index)


@transaction.atomic
def asset_move(*, asset: Asset, delta: int) -> None:
    """Move a file up (-1) or down (+1) among the product's files of the same role."""
    siblings = list(
        Asset.objects.select_for_update()
        .filter(product_id=asset.product_id, role=asset.role)
        .order_by("position", "id")
    )
    index = next(i for i, a in enumerate(siblings) if a.pk == asset.pk)
    target = max(0, min(len(siblings) - 1, index + delta))
    siblings.insert(target, siblings.pop(index))
    for position, sibling in enumerate(siblings, start=1):
        if sibling.position != position:
            Asset.objects.filter(pk=sibling.pk).update(position=position)


@transaction.atomic
def asset_delete(*, asset: Asset) -> None:
    """Remove a file. A deliverable of a product that has buyers stays: they paid for it."""
    if asset.role == Asset.Role.DELIVERABLE and product_has_sales(product=asset.product):
        raise CatalogError(
            gettext(
                "Buyers already own “%(original_filename)s”, so it stays. "
                "Upload a corrected version beside it if needed."
            )
            % {"original_filename": asset.original_filename},
            status=409,
        )
    stored = asset.stored
    product, role = asset.product, asset.role
    asset.delete()
    stored_file_delete(field=stored)
    _renumber(product, role)
    product_index(product=product)
