"""A seller in Chromium: sign up, confirm the email, create a product, upload files with the
resumable uploader (surviving a dropped chunk), publish, and see the preview player.

Screenshots of every seller page, at 1280 px and at 375 px, land in test-artifacts/.
"""

from __future__ import annotations

import hashlib
import re
import time

import pytest
from django.core import mail
from playwright.sync_api import expect

from catalog.models import Asset, Product, Seller
from tests.e2e.conftest import ARTIFACTS
from tests.factories import wav_bytes

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

BIG = wav_bytes(19 * 1024 * 1024, seed=11)  # three 8 MiB chunks
SAMPLE = wav_bytes(60_000, seed=12)


def phone_shots(browser, page, live_server, paths: dict[str, str]) -> None:
    """The same pages on a 375 px phone, logged in as the same seller: no sideways scroll."""
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True)
    context.add_cookies(page.context.cookies())
    phone = context.new_page()
    try:
        for name, path in paths.items():
            phone.goto(live_server.url + path)
            overflow = phone.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            phone.screenshot(path=str(ARTIFACTS / f"seller-{name}-phone.png"), full_page=True)
            assert overflow <= 0, f"{path} scrolls sideways by {overflow}px on a phone"
    finally:
        context.close()


def test_a_seller_signs_up_uploads_with_resume_and_publishes(browser, page, live_server, shot):
    page.goto(live_server.url + "/")
    page.get_by_role("link", name="Sell", exact=True).click()
    page.wait_for_url(re.compile("/sell/signup/"))
    shot("seller-signup")
    page.get_by_label("Your name or your shop's").fill("Les Ondes Douces")
    page.get_by_label("Email").fill("ondes@example.com")
    page.get_by_label("Password").fill("gentle-trains-at-night")
    page.get_by_role("button", name="Create my shop").click()
    page.wait_for_url(re.compile("/sell/$"))
    expect(page.get_by_text("Confirm your email to publish.")).to_be_visible()
    shot("seller-dashboard-empty")

    link = re.search(r"http://testserver(/sell/verify/\S+/)", mail.outbox[-1].body).group(1)
    page.goto(live_server.url + link)
    expect(page.get_by_role("heading", name="Email confirmed")).to_be_visible()
    shot("seller-verified")

    page.goto(live_server.url + "/sell/products/new/")
    page.get_by_label("Title").fill("Night Trains")
    page.get_by_label("Kind").select_option("music")
    page.get_by_label("Description").fill("Four tracks recorded **between two stations**.")
    page.get_by_role("button", name="Preview the description").click()
    expect(page.locator(".preview-box strong", has_text="between two stations")).to_be_visible()
    page.get_by_role("textbox", name="Price", exact=True).fill("7,50")
    page.get_by_label("Tags").fill("ambient, electronic")
    shot("seller-product-new")
    page.get_by_role("button", name="Save as draft").click()
    page.wait_for_url(re.compile(r"/sell/products/\d+/files/"))
    product = Product.objects.get()
    assert (product.price, product.status) == (750, "draft")

    # The second chunk's connection drops once: the uploader asks for the
    # offset and resumes from the bytes that arrived.
    patches: list[str] = []

    def flaky(route):
        if route.request.method == "PATCH":
            patches.append(route.request.headers.get("upload-offset", ""))
            if len(patches) == 2:
                return route.abort("connectionreset")
        return route.continue_()

    page.route(re.compile(r"/sell/uploads/[0-9a-f-]+/$"), flaky)
    page.get_by_label("Choose files").set_input_files(
        [{"name": "01 Departure.wav", "mimeType": "audio/wav", "buffer": BIG}]
    )
    page.get_by_role("button", name="Upload").click()
    row = page.locator(".upload-row", has_text="01 Departure.wav")
    expect(row.locator("progress")).to_be_visible()
    started = time.monotonic()
    row.get_by_text(re.compile("Added")).wait_for(timeout=60_000)
    print(f"upload of {len(BIG):,} bytes took {time.monotonic() - started:.1f}s")
    page.locator("#deliverables .file-name", has_text="01 Departure.wav").wait_for()
    assert len(patches) >= 4  # three chunks, one of them sent twice
    asset = Asset.objects.get(role="deliverable")
    assert asset.sha256 == hashlib.sha256(BIG).hexdigest() and asset.size_bytes == len(BIG)
    page.unroute(re.compile(r"/sell/uploads/[0-9a-f-]+/$"))

    page.get_by_label("These files are").select_option("preview")
    page.get_by_label("Choose files").set_input_files(
        [{"name": "Departure (excerpt).wav", "mimeType": "audio/wav", "buffer": SAMPLE}]
    )
    page.get_by_role("button", name="Upload").click()
    page.locator("#previews .file-name", has_text="Departure (excerpt).wav").wait_for()
    shot("seller-files")

    page.get_by_role("link", name="Edit the product").click()
    page.get_by_label("Status").select_option("published")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("“Night Trains” is saved.")).to_be_visible()
    shot("seller-product-edit")

    page.goto(live_server.url + "/sell/profile/")
    page.get_by_label("About you").fill("Gentle electronic music for *trains*.")
    page.get_by_label("Links").fill("https://ondes.example")
    page.get_by_role("button", name="Save profile").click()
    expect(page.get_by_text("Profile saved.")).to_be_visible()
    shot("seller-profile")

    page.goto(live_server.url + "/sell/")
    expect(page.get_by_text("Published")).to_be_visible()
    shot("seller-dashboard")

    page.goto(live_server.url + product.get_absolute_url())
    audio = page.locator("audio")
    assert audio.count() == 1
    assert audio.get_attribute("src").startswith("/media/previews/")
    shot("seller-public-product")
    seller = Seller.objects.get()
    page.goto(live_server.url + seller.get_absolute_url())
    expect(page.get_by_role("link", name="ondes.example")).to_be_visible()
    shot("seller-public-page")

    phone_shots(
        browser,
        page,
        live_server,
        {
            "dashboard": "/sell/",
            "product-new": "/sell/products/new/",
            "product-edit": f"/sell/products/{product.pk}/",
            "files": f"/sell/products/{product.pk}/files/",
            "profile": "/sell/profile/",
            "delete": f"/sell/products/{product.pk}/delete/",
            "public-product": product.get_absolute_url(),
            "public-page": seller.get_absolute_url(),
        },
    )


def test_the_account_pages_look_right_on_a_phone(browser, live_server):
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True)
    page = context.new_page()
    try:
        for name, path in {
            "signup": "/sell/signup/",
            "login": "/accounts/login/",
            "password-reset": "/accounts/password/reset/",
            "password-reset-sent": "/accounts/password/reset/sent/",
        }.items():
            page.goto(live_server.url + path)
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            page.screenshot(path=str(ARTIFACTS / f"account-{name}-phone.png"), full_page=True)
            assert overflow <= 0, f"{path} scrolls sideways by {overflow}px"
    finally:
        context.close()
