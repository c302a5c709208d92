"""The webhook pages: only the seller's own endpoints, forms that explain, secrets shown once."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings
from django.urls import URLPattern, reverse

from shop.webhooks_out import urls as webhook_urls
from shop.webhooks_out.models import Delivery, Endpoint
from shop.webhooks_out.services import delivery_attempt, endpoint_send_test
from tests.factories import SellerFactory
from tests.webhooks_out.conftest import hooked

pytestmark = pytest.mark.django_db

ALL_EVENTS = ["sale.created", "refund.created"]


def _client(seller) -> Client:
    client = Client()
    client.force_login(seller.user)
    return client


def test_a_seller_adds_an_endpoint_and_sees_its_secret_once(receiver):
    seller = SellerFactory()
    client = _client(seller)
    response = client.post(
        reverse("webhooks_out:endpoints"),
        {"url": receiver.url, "events": ALL_EVENTS, "description": "accounting"},
    )
    assert response.status_code == 201
    endpoint = Endpoint.objects.get(seller=seller)
    assert endpoint.events == ALL_EVENTS and endpoint.description == "accounting"
    assert endpoint.secret in response.content.decode()
    assert response["Cache-Control"] == "private, no-store"
    again = client.get(reverse("webhooks_out:endpoint", args=[endpoint.pk]))
    assert again.status_code == 200 and endpoint.secret not in again.content.decode()
    listing = client.get(reverse("webhooks_out:endpoints")).content.decode()
    assert receiver.url in listing and endpoint.secret not in listing


@pytest.mark.parametrize(
    ("data", "field_message"),
    [
        ({"url": "", "events": ["sale.created"]}, "This field is required."),
        ({"url": "https://example.com/h", "events": []}, "Choose at least one event"),
        ({"url": "https://example.com/h", "events": ["order.eaten"]}, "Choose at least one event"),
        ({"url": "ftp://example.com/h", "events": ["sale.created"]}, "must start with https://"),
        (
            {"url": "https://u:p@example.com/h", "events": ["sale.created"]},
            "user name and password",
        ),
        ({"url": "https://" + "a" * 600, "events": ["sale.created"]}, "too long"),
        ({"url": "https://10.0.0.1/h", "events": ["sale.created"]}, "private network"),
        ({"url": "https://169.254.169.254/h", "events": ["sale.created"]}, "metadata"),
        ({"url": "https://localhost/h", "events": ["sale.created"]}, "this machine itself"),
        ({"url": "http://example.com/h", "events": ["sale.created"]}, "Only https://"),
    ],
)
@override_settings(WEBHOOKS_ALLOW_PRIVATE=False, WEBHOOKS_ALLOW_HTTP=False)
def test_bad_input_is_refused_with_a_specific_message_and_nothing_written(data, field_message):
    seller = SellerFactory()
    response = _client(seller).post(reverse("webhooks_out:endpoints"), data)
    assert response.status_code == 400
    assert field_message in response.content.decode()
    assert not Endpoint.objects.exists()


def test_editing_keeps_the_secret_and_a_bad_edit_changes_nothing(receiver):
    hook = hooked(receiver.url)
    client = _client(hook.seller)
    url = reverse("webhooks_out:endpoint", args=[hook.endpoint.pk])
    response = client.post(url, {"url": receiver.url, "events": ["follower.created"]})
    assert response.status_code == 302
    hook.endpoint.refresh_from_db()
    assert hook.endpoint.events == ["follower.created"] and hook.endpoint.secret == hook.secret
    bad = client.post(url, {"url": "gopher://x", "events": ["sale.created"]})
    assert bad.status_code == 400
    hook.endpoint.refresh_from_db()
    assert hook.endpoint.url == receiver.url and hook.endpoint.events == ["follower.created"]


def test_turning_off_rolling_testing_replaying_and_deleting(
    receiver, django_capture_on_commit_callbacks
):
    hook = hooked(receiver.url)
    client = _client(hook.seller)
    pk = hook.endpoint.pk
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(reverse("webhooks_out:test", args=[pk])).status_code == 302
    assert len(receiver.received) == 1
    page = client.get(reverse("webhooks_out:endpoint", args=[pk])).content.decode()
    assert "endpoint.test" in page and "200" in page
    delivery = Delivery.objects.get(endpoint_id=pk)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("webhooks_out:replay", args=[delivery.pk]))
    assert len(receiver.received) == 2
    assert receiver.received[0].body == receiver.received[1].body
    rolled = client.post(reverse("webhooks_out:roll", args=[pk]))
    hook.endpoint.refresh_from_db()
    assert hook.endpoint.secret != hook.secret and hook.endpoint.secret in rolled.content.decode()
    client.post(reverse("webhooks_out:enabled", args=[pk]), {"enabled": "0"})
    hook.endpoint.refresh_from_db()
    assert not hook.endpoint.enabled
    refused = client.post(reverse("webhooks_out:test", args=[pk]), follow=True)
    assert "Turn the endpoint on first." in refused.content.decode()
    client.post(reverse("webhooks_out:delete", args=[pk]))
    assert not Endpoint.objects.filter(pk=pk).exists()


def _patterns() -> list[URLPattern]:
    return [p for p in webhook_urls.urlpatterns if isinstance(p, URLPattern)]


def test_another_sellers_endpoints_and_deliveries_are_404_on_every_page(receiver):
    theirs = hooked(receiver.url)
    delivery = endpoint_send_test(endpoint=theirs.endpoint)
    delivery_attempt(delivery_id=delivery.pk)
    client = _client(SellerFactory())
    checked = set()
    for pattern in _patterns():
        keys = set(pattern.pattern.converters)
        if not keys:
            continue
        kwargs = (
            {"endpoint": theirs.endpoint.pk} if "endpoint" in keys else {"delivery": delivery.pk}
        )
        url = reverse(f"webhooks_out:{pattern.name}", kwargs=kwargs)
        for method in ("get", "post"):
            response = getattr(client, method)(url, {"enabled": "0"} if method == "post" else {})
            assert response.status_code in (404, 405), (url, method, response.status_code)
            if response.status_code == 404:
                checked.add(pattern.name)
    assert checked == {p.name for p in _patterns() if p.pattern.converters}
    theirs.endpoint.refresh_from_db()
    assert (
        theirs.endpoint.enabled and Delivery.objects.filter(endpoint=theirs.endpoint).count() == 1
    )
    listing = client.get(reverse("webhooks_out:endpoints")).content.decode()
    assert receiver.url not in listing


def test_forms_need_the_csrf_token(receiver):
    seller = SellerFactory()
    client = Client(enforce_csrf_checks=True)
    client.force_login(seller.user)
    response = client.post(
        reverse("webhooks_out:endpoints"), {"url": receiver.url, "events": ["sale.created"]}
    )
    assert response.status_code == 403
    assert not Endpoint.objects.exists()


def test_the_pages_need_a_seller():
    response = Client().get(reverse("webhooks_out:endpoints"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_the_seller_menu_links_the_webhooks_page():
    page = _client(SellerFactory()).get(reverse("webhooks_out:endpoints")).content.decode()
    assert f'href="{reverse("webhooks_out:endpoints")}" aria-current="page"' in page
