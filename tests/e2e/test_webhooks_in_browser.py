"""A seller's webhooks in Chromium: add an endpoint, see its secret once, send a test
event to a real receiver on loopback (allowed in test settings only), see the attempt."""

from __future__ import annotations

import pytest
from django.test import Client
from playwright.sync_api import expect

from shop.webhooks_out.models import Endpoint
from tests.factories import SellerFactory
from tests.webhooks_out.conftest import receiver  # noqa: F401 — the fixture

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_seller_adds_an_endpoint_and_sees_a_test_delivery(page, live_server, shot, receiver):  # noqa: F811
    seller = SellerFactory(display_name="Les Ondes Douces")
    client = Client()
    client.force_login(seller.user)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_server.url + "/sell/webhooks/")
    expect(page.get_by_text("No endpoints yet.")).to_be_visible()
    page.get_by_label("Address").fill(receiver.url + "/hook")
    page.locator("label.check", has_text="sale.created").locator("input").check()
    page.get_by_role("button", name="Add the endpoint").click()
    endpoint = Endpoint.objects.get(seller=seller)
    assert endpoint.events == ["sale.created"]
    secret = page.locator("code", has_text="whsec_").first.inner_text().strip()
    assert secret.startswith("whsec_")
    shot("webhooks-secret-phone")

    page.goto(live_server.url + f"/sell/webhooks/{endpoint.pk}/")
    assert secret not in page.content()  # shown once
    page.get_by_role("button", name="Send a test event").click()
    page.wait_for_load_state()
    page.reload()
    delivery = page.locator("ul.deliveries > li").first
    assert "Delivered" in delivery.locator("summary").inner_text()
    delivery.locator("summary").click()
    row = delivery.locator("table.data tbody tr").first
    row.wait_for()
    assert "200" in row.inner_text() and "delivered" in row.inner_text()
    assert len(receiver.received) == 1 and receiver.received[0].path.endswith("/hook")
    assert "Echoppe-Signature".lower() in {k.lower() for k in receiver.received[0].headers}
    shot("webhooks-endpoint-phone")
