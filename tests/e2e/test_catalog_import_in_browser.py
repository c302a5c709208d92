"""A seller imports a whole catalog in Chromium: ZIP → plan with problems → import → progress."""

from __future__ import annotations

import shutil

import pytest
from django.test import Client
from playwright.sync_api import expect

from catalog.models import ImportJob, Product
from tests.catalog.test_import import BOOK, SINGLE, make_catalog
from tests.factories import SellerFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _log_in(page, live_server, user) -> None:
    client = Client()
    client.force_login(user)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )


def test_a_seller_checks_then_imports_a_catalog_zip(page, live_server, shot, tmp_path):
    seller = SellerFactory(display_name="Les Ondes Douces")
    rows = "Lost songs,music,fixed,5,,nowhere.mp3,,,,,,,\n" + BOOK + SINGLE
    root = make_catalog(tmp_path / "cat", rows)
    archive = shutil.make_archive(str(tmp_path / "my-catalog"), "zip", root)
    _log_in(page, live_server, seller.user)

    page.goto(live_server.url + "/sell/imports/")
    shot("import-upload")
    page.get_by_label("Catalog ZIP").set_input_files(archive)
    page.get_by_role("button", name="Check the catalog").click()
    page.get_by_text("Nothing has been written yet").wait_for()
    expect(page.get_by_text("“nowhere.mp3” is missing.")).to_be_visible()
    shot("import-plan")
    assert not Product.objects.exists()

    page.get_by_role("button", name="Import 2 products").click()
    page.get_by_role("link", name="See your products").wait_for()
    assert page.locator("#import-bar").get_attribute("value") == "3"
    assert "2 created" in page.locator("#import-counts").inner_text()
    shot("import-done")
    assert set(Product.objects.values_list("slug", flat=True)) == {"field-notes", "departure"}

    page.set_viewport_size({"width": 375, "height": 800})
    page.reload()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    shot("import-done-phone")


def test_the_page_follows_the_check_in_the_worker_then_shows_the_plan(page, live_server, shot):
    seller = SellerFactory(display_name="Les Ondes Douces")
    job = ImportJob.objects.create(
        seller=seller,
        source="imports/x.zip",
        source_name="big.zip",
        status=ImportJob.Status.PLANNING,
        dry_run=True,
        total_rows=1000,
        processed_rows=10,
    )
    _log_in(page, live_server, seller.user)
    page.goto(f"{live_server.url}/sell/imports/{job.pk}/")
    expect(page.get_by_role("heading", name="Checking the catalog")).to_be_visible()
    assert "10 of 1000 checked" in page.locator("#import-counts").inner_text()
    # The worker moves on: the bar follows without a reload.
    ImportJob.objects.filter(pk=job.pk).update(processed_rows=600)
    # (A locator, not wait_for_function: the page's policy allows no eval.)
    expect(page.locator("#import-counts")).to_contain_text("600 of 1000 checked")
    assert page.locator("#import-bar").evaluate("bar => bar.value") == 600
    shot("import-checking")
    # The plan is ready: the page reloads itself and offers the import.
    plan = {
        "mode": "manifest",
        "problems": [],
        "rows": [{"line": 2, "title": "Field Notes", "slug": "field-notes", "action": "create"}],
    }
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.PLANNED, report=plan, total_rows=1, processed_rows=0
    )
    page.get_by_text("Nothing has been written yet").wait_for()
    expect(page.get_by_role("button", name="Import 1 product")).to_be_visible()
