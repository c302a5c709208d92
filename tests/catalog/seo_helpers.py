"""Products with covers, previews and tracks for the search-engine and feed tests."""

from __future__ import annotations

import io

from django.core.files.base import ContentFile
from PIL import Image

from catalog.models import Asset, Product
from tests.factories import ProductFactory, add_file, demo_media


def cover_jpeg(width: int = 1200, height: int = 800, fmt: str = "JPEG") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (90, 60, 200)).save(out, fmt)
    return out.getvalue()


def with_cover(product: Product, width: int = 1200, height: int = 800) -> Product:
    # Named like image_store names the largest size, so the `variant` filter finds the others.
    data = cover_jpeg(width, height)
    storage = product.cover.storage
    folder = f"covers/test{product.pk}"
    for size, fmt in ((600, "JPEG"), (600, "WEBP"), (1200, "WEBP")):
        suffix = "jpg" if fmt == "JPEG" else "webp"
        picture = cover_jpeg(size, size * height // width, fmt)
        storage.save(f"{folder}/{size}.{suffix}", ContentFile(picture))
    product.cover.name = storage.save(f"{folder}/1200.jpg", ContentFile(data))
    product.save(update_fields=["cover"])
    return product


def album(**kwargs: object) -> Product:
    """A music product with two tracks (durations known) and an audio preview."""
    product = ProductFactory(kind=Product.Kind.MUSIC, title="Night Trains", price=700, **kwargs)
    for position, (title, seconds) in enumerate(
        [("Departure", 187.4), ("Tunnel", 3725.0)], start=1
    ):
        track = add_file(product, demo_media("album-01-departure.mp3"), f"{position}.mp3")
        track.position = position
        track.metadata = {"title": title, "duration_seconds": seconds}
        track.save()
    add_file(product, demo_media("album-01-departure.mp3"), "preview.mp3", role=Asset.Role.PREVIEW)
    return with_cover(product)
