"""Writes for the catalog."""

from __future__ import annotations

from django.core.files import File
from django.db import transaction

from catalog.media import safe_filename, sha256_and_size, sniff
from catalog.models import Asset, Product


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
    asset.file.save(original_filename, file, save=False)
    asset.save()
    return asset


def asset_describe(*, asset: Asset, file: File) -> None:
    """Fill size, hash and detected type from the bytes (streamed, never all in memory)."""
    asset.sha256, asset.size_bytes = sha256_and_size(file)  # type: ignore[arg-type]
    found = sniff(file)  # type: ignore[arg-type]
    asset.kind, asset.mime_type = found.kind, found.mime
