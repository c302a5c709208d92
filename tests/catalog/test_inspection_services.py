"""Uploads go through the same inspection: `asset_describe` fills the asset or refuses the file."""

from __future__ import annotations

import pytest
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile, TemporaryUploadedFile

from catalog.inspection import MediaRefused
from catalog.models import Asset
from catalog.services.assets import asset_create, asset_describe
from tests.factories import DEMO_MEDIA, add_file, demo_media

pytestmark = pytest.mark.django_db


def test_an_uploaded_track_is_described_by_its_content(product):
    asset = add_file(product, demo_media("album-01-departure.mp3"), "whatever.mp3", inspect=True)
    asset.refresh_from_db()
    assert (asset.kind, asset.mime_type) == ("audio", "audio/mpeg")
    assert asset.metadata["duration_seconds"] == pytest.approx(11.3, abs=0.2)
    assert asset.metadata["tags"]["album"] == "Night Trains"
    assert asset.metadata["title"] == "Departure"
    assert asset.metadata["cover"]["mime"] == "image/jpeg"


def test_a_refused_file_raises_its_reason_and_leaves_no_asset(product):
    with pytest.raises(MediaRefused, match="says EPUB, but the content is a PDF document"):
        asset_create(
            product=product,
            file=ContentFile(demo_media("ebook-recipes.pdf"), name="book.epub"),
            original_filename="book.epub",
        )
    assert not Asset.objects.filter(product=product).exists()


def test_the_browser_content_type_is_a_claim_too(product):
    asset = Asset(product=product, original_filename="cover")
    upload = SimpleUploadedFile("cover", demo_media("ebook-recipes.pdf"), content_type="image/png")
    with pytest.raises(MediaRefused, match="The browser sent this file as image/png"):
        asset_describe(asset=asset, file=upload, content_type=upload.content_type)


def test_a_temporary_upload_is_read_in_place_and_a_file_on_disk_too(product, monkeypatch):
    import catalog.services.assets as services

    def no_copy(*args, **kwargs):
        raise AssertionError("the file was copied")

    monkeypatch.setattr(services.tempfile, "NamedTemporaryFile", no_copy)
    upload = TemporaryUploadedFile("tunnel.mp3", "audio/mpeg", 0, None)
    upload.write(demo_media("album-02-tunnel.mp3"))
    upload.seek(0)
    asset = Asset(product=product, original_filename="tunnel.mp3")
    assert asset_describe(asset=asset, file=upload).tags["title"] == "Tunnel"
    with (DEMO_MEDIA / "ebook-recipes.pdf").open("rb") as handle:
        asset = Asset(product=product, original_filename="recipes.pdf")
        asset_describe(asset=asset, file=File(handle, name="recipes.pdf"))
    assert asset.metadata["pages"] == 3


def test_replacing_a_file_drops_what_the_old_one_said(product):
    asset = Asset(product=product, original_filename="a.ogg", metadata={"pages": 9, "note": "kept"})
    asset_describe(
        asset=asset, file=ContentFile(demo_media("single-morning-light.ogg"), name="a.ogg")
    )
    assert "pages" not in asset.metadata
    assert asset.metadata["note"] == "kept" and asset.metadata["codec"] == "vorbis"
