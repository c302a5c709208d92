"""Product page views: counted after the response, without cookies, bots left out."""

from __future__ import annotations

import os

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


@pytest.fixture
def batched(settings):
    """Views kept in batches of 3, none overdue on their own; the batch left empty after."""
    settings.STATS_VIEW_BATCH = 3
    settings.STATS_VIEW_FLUSH_SECONDS = 3600
    recording.VIEWS.flush()
    yield recording.VIEWS
    recording.VIEWS.forget()


def test_views_are_written_a_batch_at_a_time(
    client, page_product, batched, django_assert_num_queries
):
    url = page_product.get_absolute_url()
    for _ in range(2):
        client.get(url, HTTP_USER_AGENT=BROWSER)
    assert ProductView.objects.count() == 0 and len(batched.rows) == 2
    # The third page's view makes the batch: all three go in one statement.
    response = client.get(url, HTTP_USER_AGENT=BROWSER, HTTP_REFERER="https://blog.example.net/")
    assert response.status_code == 200
    assert ProductView.objects.count() == 3 and batched.rows == []
    assert ProductView.objects.filter(referrer_host="blog.example.net").count() == 1
    client.get(url, HTTP_USER_AGENT=BROWSER)
    with django_assert_num_queries(1):
        assert batched.flush() == 1
    assert ProductView.objects.count() == 4
    assert batched.flush() == 0


def test_an_overdue_view_is_written_by_the_next_page(client, page_product, batched, settings):
    client.get(page_product.get_absolute_url(), HTTP_USER_AGENT=BROWSER)
    assert ProductView.objects.count() == 0
    batched.oldest -= 3601  # the first view kept an hour ago
    client.get(page_product.get_absolute_url(), HTTP_USER_AGENT=BROWSER)
    assert ProductView.objects.count() == 2


def test_a_batch_the_database_refuses_is_dropped_with_a_warning(
    page_product, batched, monkeypatch, caplog
):
    batched.rows = [
        ProductView(
            seller_id=page_product.seller_id, product_id=page_product.pk, at=page_product.created_at
        )
    ]

    def refused(*args, **kwargs):
        raise DatabaseError("disk full")

    monkeypatch.setattr(ProductView.objects, "bulk_create", refused)
    assert batched.flush() == 0
    assert batched.rows == []
    assert "Could not record 1 product views" in caplog.text


def test_a_forked_child_starts_with_no_views_of_its_parent(page_product, batched):
    batched.rows = [ProductView(seller_id=page_product.seller_id, product_id=page_product.pk)]
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: what register_at_fork left it
        os.write(write, str(len(recording.VIEWS.rows)).encode())
        os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(read, 10) == b"0"
    assert len(batched.rows) == 1  # the parent's stay the parent's
