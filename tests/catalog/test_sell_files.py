"""The files page without JavaScript: uploads in one request, order, previews, deletion."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from catalog.models import Asset, Product
from catalog.services import assets
from delivery.services import entitlement_grant
from tests.factories import DEMO_MEDIA, add_file, wav_bytes

pytestmark = pytest.mark.django_db


def wav(name: str, seed: int = 0) -> SimpleUploadedFile:
    return SimpleUploadedFile(
        name, wav_bytes(3000, seed=seed), content_type="application/x-anything"
    )


def test_files_sent_with_the_form_become_ordered_deliverables(seller_client, draft):
    url = reverse("catalog:sell_files", args=[draft.pk])
    response = seller_client.post(
        url, {"role": "deliverable", "file": [wav("01.wav"), wav("02.wav", 1)]}
    )
    assert response.status_code == 302
    assets = list(draft.assets.order_by("position"))
    assert [(a.position, a.original_filename, a.mime_type) for a in assets] == [
        (1, "01.wav", "audio/wav"),
        (2, "02.wav", "audio/wav"),
    ]
    html = seller_client.get(url).content.decode()
    assert "01.wav" in html and "02.wav" in html


def test_a_preview_plays_on_the_public_product_page(seller_client, draft):
    draft.status = Product.Status.PUBLISHED
    draft.save()
    seller_client.post(
        reverse("catalog:sell_files", args=[draft.pk]),
        {"role": "preview", "file": [wav("sample.wav")]},
    )
    preview = draft.assets.get()
    assert preview.role == Asset.Role.PREVIEW and not preview.file
    html = Client().get(draft.get_absolute_url()).content.decode()
    assert f'<audio controls preload="none" src="{preview.public_file.url}"' in html
    assert Client().get(preview.public_file.url).status_code == 200


def test_a_refused_file_shows_the_reason_on_the_form(seller_client, draft):
    psd = SimpleUploadedFile("x.psd", b"8BPS\x00\x01" + b"\x00" * 64)
    response = seller_client.post(
        reverse("catalog:sell_files", args=[draft.pk]), {"role": "deliverable", "file": [psd]}
    )
    assert response.status_code == 400
    assert "x.psd: Photoshop (PSD) documents are not accepted" in response.content.decode()
    assert not draft.assets.exists()


def test_sending_the_form_without_a_file_asks_for_one(seller_client, draft):
    response = seller_client.post(
        reverse("catalog:sell_files", args=[draft.pk]), {"role": "deliverable"}
    )
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()


def test_tracks_move_up_and_down_and_stay_numbered(seller_client, draft):
    one, _two, three = (
        add_file(draft, wav_bytes(1000, seed=i), f"{i}.wav", position=i) for i in (1, 2, 3)
    )
    seller_client.post(reverse("catalog:sell_asset_move", args=[three.pk]), {"direction": "up"})
    seller_client.post(
        reverse("catalog:sell_asset_move", args=[one.pk]), {"direction": "up"}
    )  # already first
    assert list(draft.assets.order_by("position").values_list("original_filename", flat=True)) == [
        "1.wav",
        "3.wav",
        "2.wav",
    ]
    seller_client.post(reverse("catalog:sell_asset_move", args=[one.pk]), {"direction": "down"})
    assert list(draft.assets.order_by("position").values_list("position", "original_filename")) == [
        (1, "3.wav"),
        (2, "1.wav"),
        (3, "2.wav"),
    ]


def test_deleting_a_file_renumbers_the_rest(seller_client, draft):
    _one, two, _three = (
        add_file(draft, wav_bytes(1000, seed=i), f"{i}.wav", position=i) for i in (1, 2, 3)
    )
    response = seller_client.post(reverse("catalog:sell_asset_delete", args=[two.pk]))
    assert response.status_code == 302
    assert list(draft.assets.order_by("position").values_list("position", "original_filename")) == [
        (1, "1.wav"),
        (2, "3.wav"),
    ]


def test_a_file_buyers_own_is_not_deleted(seller_client, draft):
    asset = add_file(draft, wav_bytes(1000), "bought.wav")
    preview = add_file(draft, wav_bytes(1000, seed=1), "sample.wav", role="preview")
    entitlement_grant(email="fan@example.com", product=draft)
    response = seller_client.post(
        reverse("catalog:sell_asset_delete", args=[asset.pk]), follow=True
    )
    assert "Buyers already own “bought.wav”, so it stays." in response.content.decode()
    assert Asset.objects.filter(pk=asset.pk).exists()
    seller_client.post(reverse("catalog:sell_asset_delete", args=[preview.pk]))
    assert not Asset.objects.filter(pk=preview.pk).exists()


def test_embedded_cover_art_becomes_the_cover_of_a_product_without_one(
    seller_client, draft, tmp_path
):
    import io
    import shutil

    from mutagen.id3 import APIC, ID3
    from PIL import Image

    track = tmp_path / "track.mp3"
    # Track 2 has no picture of its own (track 1 carries a 320 x 320 front cover).
    shutil.copy(DEMO_MEDIA / "album-02-tunnel.mp3", track)
    art = io.BytesIO()
    Image.new("RGB", (300, 300), "#c94f7c").save(art, "PNG")
    tags = ID3(track)
    tags.delall("APIC")
    tags.add(APIC(encoding=3, mime="image/png", type=3, desc="Front", data=art.getvalue()))
    tags.save(track)
    upload = SimpleUploadedFile("01 Departure.mp3", track.read_bytes(), content_type="audio/mpeg")
    seller_client.post(
        reverse("catalog:sell_files", args=[draft.pk]), {"role": "deliverable", "file": [upload]}
    )
    draft.refresh_from_db()
    assert draft.assets.count() == 1
    assert draft.cover, "the embedded picture should have become the cover"
    with draft.cover.open("rb") as cover, Image.open(cover) as image:
        assert image.size == (300, 300)


def test_a_preview_is_stored_under_its_detected_type_not_its_name(seller_client, draft):
    seller_client.post(
        reverse("catalog:sell_files", args=[draft.pk]),
        {"role": "preview", "file": [wav("sample.html")]},
    )
    preview = draft.assets.get()
    assert preview.public_file.name.endswith(".wav")


def test_a_preview_that_a_browser_would_run_is_refused(seller_client, draft, monkeypatch):
    def svg(*, asset, file, **claims):
        asset.kind, asset.mime_type, asset.size_bytes, asset.sha256 = (
            "image",
            "image/svg+xml",
            10,
            "",
        )

    monkeypatch.setattr(assets, "asset_describe", svg)
    response = seller_client.post(
        reverse("catalog:sell_files", args=[draft.pk]),
        {"role": "preview", "file": [SimpleUploadedFile("logo.svg", b"<svg/>")]},
    )
    assert response.status_code == 400
    assert (
        "A public preview must be audio, video, a PDF, an EPUB or an image"
        in response.content.decode()
    )
    assert not draft.assets.exists()
