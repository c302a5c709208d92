"""The pages a buyer meets when a download cannot go ahead, in a real browser.

Each is photographed (test-artifacts/delivery-*.png) at desktop and phone
width, and must not scroll sideways on a phone.
"""

from __future__ import annotations

import re
import time
from unittest import mock

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from delivery import access
from delivery.models import Download
from delivery.services import (
    download_record,
    entitlement_grant,
    entitlement_revoke,
    library_link_create,
)
from tests.factories import ProductFactory, SellerFactory, add_file, pdf_bytes

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CONTENT = pdf_bytes(bytes(range(256)) * 64)


@pytest.fixture
def bought():
    seller = SellerFactory(display_name="Maëlle Durand")
    product = ProductFactory(seller=seller, title="Field Notes on Small Shops")
    asset = add_file(product, CONTENT, "Field Notes – édition.pdf")
    entitlement = entitlement_grant(email="fan@example.com", product=product)
    return entitlement, asset


def _old_link(entitlement, asset, *, age: int) -> str:
    # The link is minted `age` seconds ago: the signer's clock is moved, not slept on.
    with mock.patch("django.core.signing.time.time", return_value=time.time() - age):
        signed = access.file_link_mint(entitlement=entitlement, asset=asset)
    return reverse("delivery:download", kwargs={"signed": signed})


def _fits_a_phone(browser, url: str, name: str) -> None:
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True)
    try:
        phone = context.new_page()
        phone.goto(url)
        overflow = phone.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{name} scrolls sideways by {overflow}px"
        phone.screenshot(path=str(_artifact(f"{name}-phone")), full_page=True)
    finally:
        context.close()


def _artifact(name: str):
    from tests.e2e.conftest import ARTIFACTS

    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / f"{name}.png"


def test_an_expired_link_downloads_again_in_one_click(page, live_server, shot, bought, browser):
    entitlement, asset = bought
    token = library_link_create(library=entitlement.library)
    page.goto(live_server.url + reverse("delivery:library", kwargs={"token": token}))
    page.goto(live_server.url + _old_link(entitlement, asset, age=3600))
    expect(page.get_by_role("heading", name="This download link has expired")).to_be_visible()
    shot("delivery-expired")
    with page.expect_download() as info:
        page.get_by_role("link", name="Download again").click()
    download = info.value
    assert download.suggested_filename == "Field Notes – édition.pdf"
    with open(download.path(), "rb") as handle:
        assert handle.read() == CONTENT
    _fits_a_phone(
        browser, live_server.url + _old_link(entitlement, asset, age=3600), "delivery-expired"
    )


def test_an_expired_link_in_another_browser_points_to_the_email_route(
    page, live_server, shot, bought
):
    entitlement, asset = bought
    page.goto(live_server.url + _old_link(entitlement, asset, age=3600))
    assert page.get_by_role("link", name="Download again").count() == 0
    shot("delivery-expired-elsewhere")
    page.get_by_role("link", name="Email me my library link").click()
    page.wait_for_url(re.compile("/library/lost/"))


def test_a_revoked_purchase_and_a_reached_limit_explain_themselves(
    page, live_server, shot, bought, browser
):
    entitlement, asset = bought
    revoked_link = _old_link(entitlement, asset, age=0)
    entitlement_revoke(entitlement=entitlement, reason="Refunded on 3 May at your request")
    page.goto(live_server.url + revoked_link)
    expect(page.get_by_role("heading", name="This purchase is no longer available")).to_be_visible()
    expect(page.get_by_text("Refunded on 3 May at your request")).to_be_visible()
    shot("delivery-revoked")
    _fits_a_phone(browser, live_server.url + revoked_link, "delivery-revoked")

    limited = entitlement_grant(
        email="fan@example.com", product=entitlement.product, download_limit=3
    )
    for _ in range(3):
        download_record(entitlement=limited, asset=asset, ip=None, user_agent="", range_header="")
        Download.objects.filter(counted=True, entitlement=limited).update(at="2000-01-01T00:00Z")
    limit_link = _old_link(limited, asset, age=0)
    page.goto(live_server.url + limit_link)
    expect(page.get_by_role("heading", name="Download limit reached")).to_be_visible()
    expect(page.get_by_role("heading", name="How to get it again")).to_be_visible()
    shot("delivery-limit")
    _fits_a_phone(browser, live_server.url + limit_link, "delivery-limit")


def test_an_unknown_library_link_and_a_tampered_file_link(page, live_server, shot, bought):
    entitlement, asset = bought
    page.goto(live_server.url + reverse("delivery:library", kwargs={"token": "x" * 43}))
    expect(page.get_by_role("heading", name="This library link does not work")).to_be_visible()
    shot("delivery-library-link-invalid")
    response = page.goto(live_server.url + _old_link(entitlement, asset, age=0)[:-5] + "xxxx/")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    shot("delivery-tampered")


def test_the_library_fits_a_phone(live_server, bought, browser):
    entitlement, _ = bought
    other = ProductFactory(seller=entitlement.product.seller, title="A Very Long Album Title")
    for n in range(3):
        add_file(other, CONTENT, f"{n + 1:02d} – a track with a rather long name.pdf", position=n)
    entitlement_grant(email="fan@example.com", product=other)
    token = library_link_create(library=entitlement.library)
    _fits_a_phone(
        browser,
        live_server.url + reverse("delivery:library", kwargs={"token": token}),
        "delivery-library",
    )
