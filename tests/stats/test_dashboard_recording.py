"""Product page views: counted after the response, without cookies, bots left out."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.signals import request_finished
from django.db import DatabaseError, close_old_connections
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.urls import resolve

from catalog.models import Product
from shop.stats import recording
from shop.stats.models import ProductView
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36"


@pytest.fixture
def page_product() -> Product:
    return ProductFactory(title="Night Trains")


def test_a_view_is_recorded_with_where_it_came_from(client: Client, page_product: Product) -> None:
    response = client.get(
        page_product.get_absolute_url() + "?utm_source=Mastodon&utm_campaign=launch%20day",
        HTTP_USER_AGENT=BROWSER,
        HTTP_REFERER="https://www.example.org/some/post?id=1",
    )
    assert response.status_code == 200
    view = ProductView.objects.get()
    assert (view.product_id, view.seller_id) == (page_product.pk, page_product.seller_id)
    assert (view.referrer_host, view.utm_source, view.utm_campaign) == (
        "example.org",
        "mastodon",
        "launch day",
    )


def test_recording_sets_no_cookie(client: Client, page_product: Product) -> None:
    response = client.get(page_product.get_absolute_url(), HTTP_USER_AGENT=BROWSER)
    # Only Django's CSRF cookie of the buy form, never a visitor id or a session.
    assert set(response.cookies) <= {"csrftoken"}
    assert ProductView.objects.count() == 1


def test_the_view_is_written_after_the_response(page_product: Product) -> None:
    request = RequestFactory().get(page_product.get_absolute_url(), HTTP_USER_AGENT=BROWSER)
    request.user = AnonymousUser()
    request.resolver_match = resolve(request.path)
    response = HttpResponse("page")
    middleware = recording.ProductViewMiddleware(lambda r: response)
    served = middleware(request)
    assert ProductView.objects.count() == 0  # the page is out, nothing written yet
    # What the server does once the last byte is sent (without closing the test's connection).
    request_finished.disconnect(close_old_connections)
    try:
        served.close()
    finally:
        request_finished.connect(close_old_connections)
    assert ProductView.objects.count() == 1


@pytest.mark.parametrize(
    "agent",
    [
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
        "facebookexternalhit/1.1",
        "curl/8.5.0",
        "python-requests/2.32.3",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 HeadlessChrome/131.0 Safari/537.36",
        "",
    ],
)
def test_bots_are_left_out(client: Client, page_product: Product, agent: str) -> None:
    assert client.get(page_product.get_absolute_url(), HTTP_USER_AGENT=agent).status_code == 200
    assert not ProductView.objects.exists()


def test_prefetches_are_left_out(client: Client, page_product: Product) -> None:
    client.get(
        page_product.get_absolute_url(), HTTP_USER_AGENT=BROWSER, HTTP_SEC_PURPOSE="prefetch"
    )
    client.get(page_product.get_absolute_url(), HTTP_USER_AGENT=BROWSER, HTTP_PURPOSE="prefetch")
    assert not ProductView.objects.exists()


def test_the_sellers_own_visits_are_left_out(client: Client, page_product: Product) -> None:
    client.force_login(page_product.seller.user)
    client.get(page_product.get_absolute_url(), HTTP_USER_AGENT=BROWSER)
    assert not ProductView.objects.exists()


def test_only_a_shown_product_page_counts(client: Client, page_product: Product) -> None:
    client.head(page_product.get_absolute_url(), HTTP_USER_AGENT=BROWSER)
    client.get(f"/@{page_product.seller.slug}/no-such-product/", HTTP_USER_AGENT=BROWSER)
    client.get("/", HTTP_USER_AGENT=BROWSER)
    client.get(page_product.seller.get_absolute_url(), HTTP_USER_AGENT=BROWSER)
    draft = ProductFactory(seller=page_product.seller, status=Product.Status.DRAFT)
    assert client.get(draft.get_absolute_url(), HTTP_USER_AGENT=BROWSER).status_code == 404
    assert not ProductView.objects.exists()


def test_a_failed_write_does_not_break_the_page(
    client: Client, page_product: Product, monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    def broken(request: object) -> None:
        raise DatabaseError("database is locked")

    monkeypatch.setattr(recording, "product_view_record", broken)
    response = client.get(page_product.get_absolute_url(), HTTP_USER_AGENT=BROWSER)
    assert response.status_code == 200
    assert "Could not record a product view" in caplog.text


def test_deleting_a_product_keeps_its_views_for_the_seller(
    client: Client, page_product: Product
) -> None:
    client.get(page_product.get_absolute_url(), HTTP_USER_AGENT=BROWSER)
    seller_id = page_product.seller_id
    page_product.delete()
    view = ProductView.objects.get()
    assert (view.seller_id, view.product_id) == (seller_id, None)
