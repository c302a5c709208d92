"""A buyer in Chromium: picks FLAC and MP3 V0 for a lossless album, downloads
both and the ZIP, plays a track in the library. Outputs are checked: format,
duration within 0.1 s of the source, tags, cover."""

from __future__ import annotations

import time
import zipfile
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from catalog.inspection import audio
from catalog.models import Product
from delivery.formats.models import StreamStart
from delivery.services import entitlement_grant, library_link_create
from tests.delivery.formats.conftest import TAGS, add_flac, make_flac, needs_ffmpeg
from tests.e2e.conftest import ARTIFACTS
from tests.factories import ProductFactory, SellerFactory, add_file, demo_media

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), needs_ffmpeg]


@pytest.fixture
def album(tmp_path: Path):
    seller = SellerFactory(display_name="Les Ondes Douces")
    product = ProductFactory(seller=seller, title="Tide Tables", kind=Product.Kind.MUSIC)
    first = add_flac(
        product, make_flac(tmp_path, seconds=2.5, name="a.flac"), "01 Low Tide.flac", 1
    )
    second = add_flac(
        product, make_flac(tmp_path, seconds=1.5, name="b.flac"), "02 Salt Marsh.flac", 2
    )
    entitlement = entitlement_grant(email="fan@example.com", product=product)
    return entitlement, [first, second]


def _pick(page, entitlement, asset, fmt: str) -> Path:
    select = page.locator(f"#format-{entitlement.pk}-{asset.pk}")
    select.select_option(fmt)
    form = page.locator("form.format-pick").filter(has=select)
    with page.expect_download(timeout=60_000) as info:
        form.get_by_role("button").click()
    return Path(info.value.path()), info.value.suggested_filename


def test_a_buyer_picks_formats_downloads_the_zip_and_plays_a_track(
    page, live_server, shot, album, tmp_path
):
    entitlement, (first, _second) = album
    token = library_link_create(library=entitlement.library)
    library = live_server.url + reverse("delivery:library", kwargs={"token": token})
    page.goto(library)
    shot("formats-library")

    for fmt, mime, codec, extension in (
        ("flac", "audio/flac", "flac", "flac"),
        ("mp3-v0", "audio/mpeg", "mp3", "mp3"),
    ):
        page.goto(library)
        path, name = _pick(page, entitlement, first, fmt)
        assert name == f"01 Low Tide.{extension}"
        facts = audio.read(str(path), mime)
        assert facts.codec == codec
        assert facts.duration_seconds == pytest.approx(2.5, abs=0.1)
        assert facts.tags["title"] == TAGS["title"] and facts.tags["album"] == TAGS["album"]
        assert facts.cover is not None

    page.goto(library)
    with page.expect_download(timeout=60_000) as info:
        page.get_by_role("button", name="Download all (2 files, ZIP)").click()
    with zipfile.ZipFile(info.value.path()) as archive:
        names = archive.namelist()
        assert names == ["Tide Tables/01 Low Tide.flac", "Tide Tables/02 Salt Marsh.flac"]
        assert archive.read(names[1]) == _second.file.open("rb").read()

    page.goto(library)
    player = page.locator("audio").first
    player.evaluate("element => element.play()")
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and player.evaluate("element => element.currentTime") < 0.3:
        page.wait_for_timeout(200)
    assert player.evaluate("element => element.currentTime") >= 0.3
    assert StreamStart.objects.filter(entitlement=entitlement, asset=first).exists()
    shot("formats-library-playing")


def test_an_album_plays_through_one_track_at_a_time(page, live_server, album):
    entitlement, (_first, second) = album
    token = library_link_create(library=entitlement.library)
    page.goto(live_server.url + reverse("delivery:library", kwargs={"token": token}))
    players = page.locator("[data-playlist] audio")
    assert players.count() == 2
    players.nth(0).evaluate("element => element.play()")
    # The 2.5 s first track ends and the second starts by itself.
    page.wait_for_function(
        "() => { const p = document.querySelectorAll('[data-playlist] audio');"
        " return p[0].ended && !p[1].paused && p[1].currentTime > 0.1; }",
        timeout=20_000,
    )
    marked = page.evaluate(
        "() => Array.from(document.querySelectorAll('[data-playlist] li'))"
        ".map(li => li.hasAttribute('data-now-playing'))"
    )
    assert marked == [False, True]
    assert StreamStart.objects.filter(entitlement=entitlement, asset=second).exists()
    # Starting another player pauses the one playing.
    players.nth(0).evaluate("element => { element.currentTime = 0; return element.play(); }")
    page.wait_for_function(
        "() => document.querySelectorAll('[data-playlist] audio')[1].paused", timeout=10_000
    )


def test_the_preparing_page_shows_progress_and_fits_a_phone(browser, live_server, album):
    entitlement, (first, _second) = album
    from catalog.models import Asset

    Asset.objects.filter(pk=first.pk).update(sha256="0" * 64)  # no worker will make this one
    token = library_link_create(library=entitlement.library)
    url = reverse("delivery:file", args=[token, entitlement.pk, first.pk]) + "?format=opus-160"
    from delivery.formats.models import Rendition

    Rendition.objects.create(
        source_sha256="0" * 64, preset="opus-160", status="running", progress=42
    )
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True)
    try:
        phone = context.new_page()
        phone.goto(live_server.url + url)
        expect(phone.get_by_role("heading", name="Preparing your file")).to_be_visible()
        expect(phone.get_by_text("Converting: 42%")).to_be_visible()
        overflow = phone.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0
        from tests.e2e.conftest import ARTIFACTS

        ARTIFACTS.mkdir(exist_ok=True)
        phone.screenshot(path=str(ARTIFACTS / "formats-preparing-phone.png"), full_page=True)
    finally:
        context.close()


def test_a_buyer_downloads_a_stamped_pdf_and_epub_that_name_them(page, live_server, tmp_path):
    from pypdf import PdfReader

    seller = SellerFactory(display_name="Maëlle Durand")
    product = ProductFactory(seller=seller, title="Field Notes", stamp_ebooks=True)
    pdf = add_file(product, demo_media("ebook-field-notes.pdf"), "Field Notes.pdf", position=1)
    add_file(product, demo_media("ebook-field-notes.epub"), "Field Notes.epub", position=2)
    entitlement = entitlement_grant(email="reader@example.com", product=product)
    token = library_link_create(library=entitlement.library)
    page.goto(live_server.url + reverse("delivery:library", kwargs={"token": token}))
    with page.expect_download(timeout=60_000) as info:
        page.get_by_role("link", name="Download Field Notes.pdf").click()
    reader = PdfReader(info.value.path())
    assert len(reader.pages) == pdf.metadata.get("pages", len(reader.pages))
    assert all("Licensed to reader@example.com" in p.extract_text() for p in reader.pages)
    page.goto(live_server.url + reverse("delivery:library", kwargs={"token": token}))
    with page.expect_download(timeout=60_000) as info:
        page.get_by_role("link", name="Download Field Notes.epub").click()
    with zipfile.ZipFile(info.value.path()) as archive:
        licence = next(n for n in archive.namelist() if n.endswith("echoppe-licence.xhtml"))
        assert "Licensed to reader@example.com" in archive.read(licence).decode()


def test_the_sellers_delivery_page(page, live_server, shot, album):
    from django.conf import settings
    from django.test import Client

    entitlement, _assets = album
    signed_in = Client()
    signed_in.force_login(entitlement.product.seller.user)
    session = signed_in.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}]
    )
    page.goto(
        live_server.url + reverse("delivery:sell_product_delivery", args=[entitlement.product.pk])
    )
    page.get_by_label("Opus 160 kbit/s").uncheck()
    page.get_by_label("Downloads per buyer and file").fill("5")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Delivery settings saved.")).to_be_visible()
    expect(page.get_by_text("fan@example.com")).to_be_visible()
    shot("formats-seller-delivery")
    entitlement.product.refresh_from_db()
    assert "opus-160" not in entitlement.product.audio_formats
    assert entitlement.product.download_limit == 5


def test_a_buyer_reads_the_epub_in_the_browser_on_a_phone(browser, live_server):
    product = ProductFactory(title="Field Notes on Small Shops", kind=Product.Kind.EBOOK)
    add_file(product, demo_media("ebook-field-notes.epub"), "Field Notes.epub")
    entitlement = entitlement_grant(email="reader@example.com", product=product)
    token = library_link_create(library=entitlement.library)
    phone = browser.new_context(viewport={"width": 390, "height": 844})
    page = phone.new_page()
    try:
        page.goto(live_server.url + reverse("delivery:library", kwargs={"token": token}))
        with page.expect_popup() as popup:
            page.get_by_role("link", name="Read Field Notes.epub in the browser").click()
        book = popup.value
        book.wait_for_load_state()
        assert book.get_by_role("heading", name="Field Notes on Small Shops").count() >= 1
        assert "Every small shop opens twice." in book.locator("article.reader").inner_text()
        # The text fits the phone: no sideways scrolling.
        assert book.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        book.get_by_role("link", name="Next →").click()
        assert "Page 2 of 3" in book.locator(".reader-head").inner_text()
        book.screenshot(path=str(ARTIFACTS / "reader-phone.png"), full_page=True)
    finally:
        phone.close()
