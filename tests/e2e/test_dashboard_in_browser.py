"""The sales dashboard in Chromium, with the known shop of tests/shop/test_dashboard.py.

Screenshots at 1280 px and 375 px land in test-artifacts/dashboard-*.png.
"""

from __future__ import annotations

import re

import pytest
from django.test import Client
from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS
from tests.factories import UserFactory
from tests.stats.test_dashboard import Clock, at, build_shop, frozen_clock

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return frozen_clock(monkeypatch)


PASSWORD = "pass-word-123"  # tests.factories.UserFactory's


def log_in(page, live_server, username: str) -> None:
    page.goto(live_server.url + "/accounts/login/")
    page.get_by_label(re.compile("email|username", re.IGNORECASE)).first.fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name=re.compile("log in", re.IGNORECASE)).click()
    page.wait_for_load_state()


def on_a_phone(browser, page, live_server, paths: dict[str, str]) -> None:
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True)
    context.add_cookies(page.context.cookies())
    phone = context.new_page()
    try:
        for name, path in paths.items():
            phone.goto(live_server.url + path)
            overflow = phone.evaluate("document.documentElement.scrollWidth") - 375
            phone.screenshot(path=str(ARTIFACTS / f"dashboard-{name}-phone.png"), full_page=True)
            assert overflow <= 0, f"{path} scrolls sideways by {overflow}px on a phone"
    finally:
        context.close()


def test_a_seller_reads_the_dashboard(browser, page, live_server, shot, clock: Clock) -> None:
    shop = build_shop(clock, Client(), roll_at=at("03-21 12:00"))
    log_in(page, live_server, shop.paris.user.username)

    page.goto(live_server.url + "/sell/sales/")
    page.get_by_role("link", name="Dashboard").first.click()
    page.wait_for_url(re.compile("/sell/stats/"))
    page.get_by_role("link", name="Last 7 days").click()
    page.wait_for_url(re.compile("range=7d"))
    assert page.locator('[data-figure="gross"]').inner_text() == "€49.00"
    # O4, a free claim, is no order.
    assert page.locator('[data-figure="orders"]').inner_text() == "4"
    chart = page.get_by_role("img", name=re.compile("Gross sales by day"))
    expect(chart).to_be_visible()
    shot("dashboard-seller")
    page.locator("#revenue-chart-heading").locator("xpath=../..").get_by_text(
        "Show the numbers"
    ).click()
    expect(page.get_by_role("rowheader", name="Thursday 20 March 2025").first).to_be_visible()

    page.get_by_role("link", name="Été à Paris").first.click()
    page.wait_for_url(re.compile(r"/sell/stats/products/\d+/"))
    assert page.locator('[data-figure="gross"]').inner_text() == "€29.00"
    shot("dashboard-product")

    page.goto(live_server.url + "/sell/stats/?range=custom&from=2025-03-01&to=2025-03-25&by=week")
    expect(page.get_by_role("img", name=re.compile("Gross sales by week"))).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="Orders", exact=True).click()
    content = download.value.path().read_bytes()
    assert content.startswith("\ufeff".encode()) and "Été à Paris".encode() in content

    on_a_phone(
        browser,
        page,
        live_server,
        {"seller": "/sell/stats/?range=7d", "product": f"/sell/stats/products/{shop.a.pk}/"},
    )


def test_staff_read_the_whole_shop(browser, page, live_server, shot, clock: Clock) -> None:
    build_shop(clock, Client(), roll_at=at("03-21 12:00"))
    UserFactory(username="staffer", is_staff=True)
    log_in(page, live_server, "staffer")
    page.goto(live_server.url + "/staff/stats/?range=7d")
    assert page.locator('[data-figure="gross"]').inner_text() == "€59.00"
    expect(page.get_by_role("rowheader", name="Atelier Paris", exact=True)).to_be_visible()
    shot("dashboard-shop")
    on_a_phone(browser, page, live_server, {"shop": "/staff/stats/?range=30d"})
