from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from PIL import Image

from catalog.models import Asset, Product
from catalog.services.assets import asset_create

FFMPEG = shutil.which("ffmpeg")
needs_ffmpeg = pytest.mark.skipif(FFMPEG is None, reason="ffmpeg is not installed")

TAGS = {
    "title": "Tide Pool",
    "artist": "Ana Lúcia",
    "album": "Shorelines",
    "album_artist": "Ana Lúcia",
    "genre": "Ambient",
    "year": 2024,
    "track_number": 3,
    "track_total": 9,
}


def cover_jpeg() -> bytes:
    import io

    buffer = io.BytesIO()
    Image.new("RGB", (300, 300), (30, 120, 200)).save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def make_flac(
    directory: Path, *, seconds: float = 2.5, name: str = "tide.flac", tags: dict | None = None
) -> bytes:
    """A short stereo 44.1 kHz 16-bit FLAC with Vorbis comments and a front cover."""
    from mutagen.flac import FLAC, Picture

    path = directory / name
    subprocess.run(
        [
            FFMPEG or "ffmpeg",
            *("-nostdin", "-loglevel", "error", "-y", "-f", "lavfi"),
            *("-i", f"sine=frequency=440:sample_rate=44100:duration={seconds}"),
            *("-ac", "2", "-sample_fmt", "s16", "-c:a", "flac", str(path)),
        ],
        check=True,
    )
    flac = FLAC(path)
    values = TAGS if tags is None else tags
    for key, name_ in (
        ("title", "TITLE"),
        ("artist", "ARTIST"),
        ("album", "ALBUM"),
        ("album_artist", "ALBUMARTIST"),
        ("genre", "GENRE"),
        ("year", "DATE"),
        ("track_number", "TRACKNUMBER"),
        ("track_total", "TRACKTOTAL"),
    ):
        if key in values:
            flac[name_] = str(values[key])
    picture = Picture()
    picture.type, picture.mime, picture.width, picture.height, picture.depth = (
        3,
        "image/jpeg",
        300,
        300,
        24,
    )
    picture.data = cover_jpeg()
    flac.add_picture(picture)
    flac.save()
    return path.read_bytes()


def add_flac(
    product: Product, data: bytes, name: str = "03 Tide Pool.flac", position: int = 1
) -> Asset:
    """Through the real service, so the inspection fills in the metadata (codec, duration...)."""
    return asset_create(
        product=product,
        file=ContentFile(data, name=name),
        original_filename=name,
        role=Asset.Role.DELIVERABLE,
        position=position,
    )


@pytest.fixture
def flac_bytes(tmp_path: Path) -> bytes:
    return make_flac(tmp_path)


@pytest.fixture
def album(product: Product) -> Product:
    product.kind = Product.Kind.MUSIC
    product.save(update_fields=["kind"])
    return product
