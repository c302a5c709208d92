"""A buyer picks a format: queued for the worker, "preparing", then the file; made once."""

from __future__ import annotations

from types import SimpleNamespace
from urllib.parse import unquote

import mutagen
import pytest
from django.core import mail
from django.urls import reverse

from catalog.inspection import audio
from delivery.formats import tasks
from delivery.formats.models import Rendition, RenditionWait
from delivery.models import Download
from delivery.services import entitlement_grant, library_link_create
from tests.delivery.formats.conftest import TAGS, add_flac, needs_ffmpeg
from tests.factories import add_file

pytestmark = [pytest.mark.django_db, needs_ffmpeg]


@pytest.fixture
def bought(album, flac_bytes):
    asset = add_flac(album, flac_bytes)
    entitlement = entitlement_grant(email="fan@example.com", product=album)
    token = library_link_create(library=entitlement.library)
    return entitlement, asset, token


def _file_url(bought, fmt: str | None = None) -> str:
    entitlement, asset, token = bought
    url = reverse("delivery:file", args=[token, entitlement.pk, asset.pk])
    return f"{url}?format={fmt}" if fmt else url


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_the_library_offers_a_lossless_file_in_every_format_the_seller_chose(client, bought):
    entitlement, _asset, token = bought
    product = entitlement.product
    product.audio_formats = ["flac", "mp3-v0"]
    product.save(update_fields=["audio_formats"])
    html = client.get(reverse("delivery:library", kwargs={"token": token})).content.decode()
    assert 'name="format"' in html
    assert 'value="flac"' in html and 'value="mp3-v0"' in html
    assert 'value="opus-160"' not in html
    assert "Original (FLAC audio)" in html


def test_a_lossy_file_is_delivered_as_it_is(client, album):
    entitlement = entitlement_grant(email="fan@example.com", product=album)
    pdf = add_file(album, None, "book.pdf")
    token = library_link_create(library=entitlement.library)
    html = client.get(reverse("delivery:library", kwargs={"token": token})).content.decode()
    assert 'name="format"' not in html
    response = client.get(
        reverse("delivery:file", args=[token, entitlement.pk, pdf.pk]) + "?format=mp3-v0"
    )
    assert response.status_code == 404
    assert "not offered in that format" in response.content.decode()


def test_a_format_the_seller_did_not_offer_is_refused_with_a_message(client, bought):
    entitlement, _asset, _token = bought
    entitlement.product.audio_formats = ["flac"]
    entitlement.product.save(update_fields=["audio_formats"])
    response = client.get(_file_url(bought, "opus-160"))
    assert response.status_code == 404
    assert "not offered in that format" in response.content.decode()
    assert not Rendition.objects.exists()


def test_a_first_request_shows_preparing_and_queues_the_worker(
    client, bought, monkeypatch, django_capture_on_commit_callbacks
):
    queued = []
    monkeypatch.setattr(
        "delivery.formats.services.rendition_make_task",
        SimpleNamespace(enqueue=lambda **kw: queued.append(kw)),
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(_file_url(bought, "mp3-v0"))
    assert response.status_code == 200
    assert queued == [{"rendition_id": Rendition.objects.get().pk, "asset_id": bought[1].pk}]
    html = response.content.decode()
    assert "Preparing your file" in html
    assert '<meta http-equiv="refresh"' in html
    assert "<progress" in html
    rendition = Rendition.objects.get()
    assert rendition.status == Rendition.Status.QUEUED
    assert rendition.source_sha256 == bought[1].sha256
    # A refresh does not queue it twice.
    with django_capture_on_commit_callbacks(execute=True):
        client.get(_file_url(bought, "mp3-v0"))
    assert Rendition.objects.count() == 1
    assert len(queued) == 1


def test_once_made_the_buyer_gets_the_file_tagged_and_counted_once(
    client, bought, django_capture_on_commit_callbacks, tmp_path
):
    entitlement, asset, _token = bought
    with django_capture_on_commit_callbacks(execute=True):
        first = client.get(_file_url(bought, "mp3-v0"))
    assert first.status_code == 200  # the page that was answered before the worker ran
    rendition = Rendition.objects.get()
    assert rendition.status == Rendition.Status.READY
    assert rendition.stored_name.startswith(f"renditions/{asset.sha256[:2]}/{asset.sha256}/")
    ready = client.get(_file_url(bought, "mp3-v0"))
    assert ready.status_code == 302
    download = client.get(ready["Location"])
    assert download.status_code == 200
    assert download["Content-Type"] == "audio/mpeg"
    assert 'filename="03 Tide Pool.mp3"' in unquote(download["Content-Disposition"])
    data = _body(download)
    assert int(download["Content-Length"]) == len(data) == rendition.size_bytes
    path = tmp_path / "got.mp3"
    path.write_bytes(data)
    facts = audio.read(str(path), "audio/mpeg")
    assert facts.codec == "mp3"
    assert facts.duration_seconds == pytest.approx(2.5, abs=0.1)
    assert facts.tags["title"] == TAGS["title"]
    assert facts.cover is not None
    assert Download.objects.filter(entitlement=entitlement, asset=asset, counted=True).count() == 1


def test_a_range_of_a_rendition_resumes(client, bought, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client.get(_file_url(bought, "flac"))
    link = client.get(_file_url(bought, "flac"))["Location"]
    whole = _body(client.get(link))
    part = client.get(link, HTTP_RANGE="bytes=100-199")
    assert part.status_code == 206
    assert _body(part) == whole[100:200]


def test_the_thousandth_buyer_gets_the_stored_file_at_once(
    client, bought, album, django_capture_on_commit_callbacks, monkeypatch
):
    with django_capture_on_commit_callbacks(execute=True):
        client.get(_file_url(bought, "opus-160"))
    made = Rendition.objects.get()
    other = entitlement_grant(email="second@example.com", product=album)
    token = library_link_create(library=other.library)
    monkeypatch.setattr(
        "delivery.formats.transcode.subprocess.Popen",
        lambda *a, **k: pytest.fail("ffmpeg ran again"),
    )
    url = reverse("delivery:file", args=[token, other.pk, bought[1].pk]) + "?format=opus-160"
    response = client.get(url)
    assert response.status_code == 302
    assert Rendition.objects.get().stored_name == made.stored_name


def test_a_buyer_who_left_is_mailed_when_the_file_is_ready(bought):
    entitlement, asset, _token = bought
    from datetime import timedelta

    from django.utils import timezone

    from delivery.formats.presets import PRESETS

    rendition = Rendition.objects.create(source_sha256=asset.sha256, preset="vorbis-q6")
    RenditionWait.objects.create(
        rendition=rendition,
        entitlement=entitlement,
        asset=asset,
        seen_at=timezone.now() - timedelta(minutes=5),
    )
    assert PRESETS["vorbis-q6"]
    tasks.rendition_make(rendition_id=rendition.pk, asset_id=asset.pk)
    rendition.refresh_from_db()
    assert rendition.status == Rendition.Status.READY
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["fan@example.com"]
    assert "ready" in message.subject and "Ogg Vorbis" in message.subject
    assert "http://testserver/library/" in message.body
    # Once only.
    tasks.rendition_make(rendition_id=rendition.pk, asset_id=asset.pk)
    assert len(mail.outbox) == 1


def test_a_buyer_still_watching_is_not_mailed(bought, client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client.get(_file_url(bought, "aac-256"))
    assert Rendition.objects.get().status == Rendition.Status.READY
    assert mail.outbox == []


def test_a_failed_conversion_tells_the_buyer_and_the_seller_and_stores_nothing(
    client, bought, settings, django_capture_on_commit_callbacks
):
    settings.FFMPEG_BINARY = "/nonexistent/ffmpeg"
    with django_capture_on_commit_callbacks(execute=True):
        client.get(_file_url(bought, "mp3-320"))
    rendition = Rendition.objects.get()
    assert rendition.status == Rendition.Status.FAILED
    assert rendition.stored_name == ""
    assert "not installed" in rendition.error
    page = client.get(_file_url(bought, "mp3-320"))
    html = page.content.decode()
    assert page.status_code == 200
    assert "could not be made" in html and "not installed" in html
    assert 'http-equiv="refresh"' not in html
    assert [m.to for m in mail.outbox] == [[bought[0].product.seller.user.email]]
    assert "could not be converted" in mail.outbox[0].subject


def test_a_corrupt_source_fails_cleanly(
    client, album, django_capture_on_commit_callbacks, flac_bytes
):
    asset = add_flac(album, flac_bytes)
    # The stored bytes damaged after the upload's inspection.
    with asset.file.storage.open(asset.file.name, "wb") as handle:
        handle.write(flac_bytes[:200])
    entitlement = entitlement_grant(email="fan@example.com", product=album)
    token = library_link_create(library=entitlement.library)
    url = reverse("delivery:file", args=[token, entitlement.pk, asset.pk]) + "?format=mp3-v0"
    with django_capture_on_commit_callbacks(execute=True):
        client.get(url)
    rendition = Rendition.objects.get()
    assert rendition.status == Rendition.Status.FAILED
    assert rendition.error
    assert rendition.stored_name == ""


def test_a_link_to_a_rendition_not_made_is_not_found(client, bought):
    from delivery import access

    entitlement, asset, _token = bought
    signed = access.file_link_mint(entitlement=entitlement, asset=asset, preset="flac")
    assert client.get(reverse("delivery:download", kwargs={"signed": signed})).status_code == 404
    assert not Download.objects.exists()


def test_the_rendition_reads_back_as_its_format(
    client, bought, django_capture_on_commit_callbacks, tmp_path
):
    with django_capture_on_commit_callbacks(execute=True):
        client.get(_file_url(bought, "alac"))
    link = client.get(_file_url(bought, "alac"))["Location"]
    path = tmp_path / "a.m4a"
    path.write_bytes(_body(client.get(link)))
    assert mutagen.File(path).info.codec == "alac"


def test_the_seller_chooses_the_formats_offered(client, bought):
    entitlement, _asset, token = bought
    product = entitlement.product
    client.force_login(product.seller.user)
    listing = client.get(reverse("delivery:sell_delivery"))
    assert listing.status_code == 200
    assert "1 lossless file" in listing.content.decode()
    url = reverse("delivery:sell_product_delivery", args=[product.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert 'value="opus-160"' in page.content.decode()
    response = client.post(url, {"audio_formats": ["mp3-v0", "flac", "nonsense"]})
    assert response.status_code == 400  # an unknown format is an error, not ignored silently
    response = client.post(url, {"audio_formats": ["mp3-v0", "flac"]})
    assert response.status_code == 302
    product.refresh_from_db()
    assert product.audio_formats == ["flac", "mp3-v0"]
    client.logout()
    html = client.get(reverse("delivery:library", kwargs={"token": token})).content.decode()
    assert 'value="flac"' in html and 'value="aac-256"' not in html


def test_another_sellers_product_settings_are_not_found(client, bought):
    from tests.factories import SellerFactory

    other = SellerFactory()
    client.force_login(other.user)
    url = reverse("delivery:sell_product_delivery", args=[bought[0].product.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, {"audio_formats": []}).status_code == 404


def test_download_all_in_a_format_zips_the_renditions(
    client, album, tmp_path, django_capture_on_commit_callbacks
):
    import io
    import zipfile

    from tests.delivery.formats.conftest import make_flac

    add_flac(album, make_flac(tmp_path, seconds=1.5, name="a.flac"), "01 One.flac", 1)
    add_flac(album, make_flac(tmp_path, seconds=2.0, name="b.flac"), "02 Two.flac", 2)
    entitlement = entitlement_grant(email="fan@example.com", product=album)
    token = library_link_create(library=entitlement.library)
    url = reverse("delivery:bundle", args=[token, entitlement.pk]) + "?format=mp3-v0"
    with django_capture_on_commit_callbacks(execute=True):
        waiting = client.get(url)
    assert "Preparing your download" in waiting.content.decode()
    assert Rendition.objects.filter(status=Rendition.Status.READY).count() == 2
    link = client.get(url)["Location"]
    data = _body(client.get(link))
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = [info.filename for info in archive.infolist()]
        assert names == [f"{album.title}/01 One.mp3", f"{album.title}/02 Two.mp3"]
        path = tmp_path / "two.mp3"
        path.write_bytes(archive.read(names[1]))
    facts = audio.read(str(path), "audio/mpeg")
    assert facts.duration_seconds == pytest.approx(2.0, abs=0.1)
    assert facts.tags["title"] == TAGS["title"]


def test_the_seller_sets_a_download_limit_sees_downloads_and_resets_a_buyer(client, bought):
    from delivery import access as gate

    entitlement, asset, _token = bought
    product = entitlement.product
    client.force_login(product.seller.user)
    url = reverse("delivery:sell_product_delivery", args=[product.pk])
    bad = client.post(url, {"audio_formats": ["flac"], "download_limit": "1.5"})
    assert bad.status_code == 400 and "whole number" in bad.content.decode()
    assert client.post(url, {"audio_formats": ["flac"], "download_limit": "1"}).status_code == 302
    entitlement.refresh_from_db()
    assert entitlement.download_limit == 1
    product.refresh_from_db()
    later = entitlement_grant(email="late@example.com", product=product)
    assert later.download_limit == 1
    link = reverse(
        "delivery:download", args=[gate.file_link_mint(entitlement=entitlement, asset=asset)]
    )
    assert client.get(link).status_code == 200
    Download.objects.update(at="2000-01-01T00:00Z")
    assert client.get(link).status_code == 403
    page = client.get(url).content.decode()
    assert "fan@example.com" in page and "1 download" in page
    reset = reverse("delivery:sell_buyer_downloads_reset", args=[product.pk, entitlement.pk])
    assert client.post(reset).status_code == 302
    assert client.get(link).status_code == 200
    assert Download.objects.filter(entitlement=entitlement).count() == 2  # the log is kept


def test_a_seller_cannot_reset_another_sellers_buyer(client, bought):
    from tests.factories import SellerFactory

    entitlement = bought[0]
    client.force_login(SellerFactory().user)
    reset = reverse(
        "delivery:sell_buyer_downloads_reset", args=[entitlement.product.pk, entitlement.pk]
    )
    assert client.post(reset).status_code == 404


def test_past_buyers_are_told_of_an_update_once_each_and_once_a_day(
    client, bought, django_capture_on_commit_callbacks
):
    entitlement = bought[0]
    product = entitlement.product
    entitlement_grant(email="second@example.com", product=product)
    entitlement_grant(email="fan@example.com", product=product)  # a second purchase, one email
    client.force_login(product.seller.user)
    url = reverse("delivery:sell_buyers_notify_update", args=[product.pk])
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(url).status_code == 302
    assert sorted(m.to[0] for m in mail.outbox) == ["fan@example.com", "second@example.com"]
    assert all("was updated" in m.subject and "/library/" in m.body for m in mail.outbox)
    with django_capture_on_commit_callbacks(execute=True):
        again = client.post(url, follow=True)
    assert "less than a day ago" in again.content.decode()
    assert len(mail.outbox) == 2
