"""A seller imports a whole catalog in Chromium: ZIP → plan with problems → import → progress."""

from __future__ import annotations

import shutil

import pytest
from django.test import Client

from catalog.models import Product
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
    assert page.get_by_text("“nowhere.mp3” is missing.").is_visible()
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
