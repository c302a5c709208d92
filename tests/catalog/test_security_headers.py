"""Every page kind carries a strict Content-Security-Policy and a Permissions-Policy."""

from __future__ import annotations

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import path, reverse

from catalog.headers import frame_allowed
from delivery.services import entitlement_grant, library_link_create
from shop.models import Order
from shop.settings import s3_storages
from shop.urls import urlpatterns as shop_urlpatterns
from tests.factories import ProductFactory, add_file
from tests.helpers import pay, start_checkout

pytestmark = pytest.mark.django_db


def _boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug")


@frame_allowed
def _embed(request: HttpRequest) -> HttpResponse:
    return HttpResponse("an embed")


urlpatterns = [path("test/boom/", _boom), path("test/embed/", _embed), *shop_urlpatterns]


def _directives(response) -> dict[str, str]:
    policy = response["Content-Security-Policy"]
    return dict(part.strip().split(" ", 1) for part in policy.split(";"))


def _assert_strict(response) -> None:
    csp = _directives(response)
    assert csp["default-src"] == "'self'"
    assert csp["script-src"] == "'self'" and csp["style-src"] == "'self'"
    assert "unsafe" not in response["Content-Security-Policy"]
    assert csp["frame-ancestors"] == "'none'" and csp["object-src"] == "'none'"
    assert csp["form-action"] == "'self'"
    permissions = response["Permissions-Policy"]
    for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
        assert f"{feature}=()" in permissions
    assert response["X-Frame-Options"] == "DENY"


@pytest.fixture
def world(client, django_user_model):
    product = ProductFactory(price=500)
    add_file(product)
    start_checkout(client, product)
    order = Order.objects.get()
    test_pay = reverse("shop:test_pay", kwargs={"order": order.public_id})
    pay(client, order)
    entitlement = entitlement_grant(email="fan@example.com", product=product)
    token = library_link_create(library=entitlement.library)
    return {
        "home": reverse("catalog:home"),
        "seller": reverse("catalog:seller", args=[product.seller.slug]),
        "product": product.get_absolute_url(),
        "cart": reverse("shop:cart"),
        "receipt": order.get_absolute_url(),
        "test payment": test_pay,
        "library": reverse("delivery:library", kwargs={"token": token}),
        "library lost": reverse("delivery:library_request"),
        "login": reverse("login"),
        "admin login": "/admin/login/",
        "not found": "/no/such/page/",
        "_seller": product.seller,
    }


@pytest.mark.urls(__name__)
def test_every_public_page_kind_is_under_the_strict_policy(client, world):
    for name, url in world.items():
        if name.startswith("_"):
            continue
        response = client.get(url)
        assert response.status_code in (200, 302, 404), (name, response.status_code)
        _assert_strict(response)


@pytest.mark.urls(__name__)
def test_the_sellers_pages_and_dashboards_are_under_the_strict_policy(world):
    client = Client()
    client.force_login(world["_seller"].user)
    for url in ("/sell/", "/sell/stats/", "/sell/sales/", "/sell/codes/", "/sell/payouts/"):
        response = client.get(url)
        assert response.status_code == 200, url
        _assert_strict(response)


@pytest.mark.urls(__name__)
def test_the_error_page_is_under_the_strict_policy(db):
    response = Client(raise_request_exception=False).get("/test/boom/")
    assert response.status_code == 500
    _assert_strict(response)
    assert b"style=" not in response.content


@pytest.mark.urls(__name__)
def test_a_view_marked_frame_allowed_may_be_framed_and_only_it(client, db):
    response = client.get("/test/embed/")
    assert _directives(response)["frame-ancestors"] == "*"
    assert "X-Frame-Options" not in response
    assert _directives(client.get("/"))["frame-ancestors"] == "'none'"


def test_no_template_carries_inline_script_or_style(client):
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    offenders = []
    for template in root.glob("*/**/templates/**/*.html"):
        if "/email/" in str(template) or ".venv" in template.parts:
            continue
        if template.relative_to(root).as_posix() == "shop/templates/500.html":
            continue  # standalone on purpose; its <style> is allowed by digest (below)
        text = template.read_text()
        for marker in ("style=", "<script>", " onclick=", " onchange=", " onsubmit=", "<style"):
            if marker in text:
                offenders.append(f"{template.relative_to(root)}: {marker}")
    assert offenders == []


def test_on_s3_the_bucket_and_the_public_domain_are_allowed(client, settings):
    settings.STORAGES = {
        **settings.STORAGES,
        **s3_storages(
            access_key="key",
            secret_key="secret",
            endpoint_url="http://127.0.0.1:8333",
            private_bucket="paid",
            public_bucket="covers",
            public_domain="cdn.example.com",
        ),
    }
    csp = _directives(client.get("/"))
    assert csp["connect-src"] == "'self' http://127.0.0.1:8333"
    assert csp["img-src"] == "'self' https://cdn.example.com"
    assert csp["media-src"] == "'self' https://cdn.example.com"


def test_an_absolute_media_url_is_allowed_for_images(client, settings):
    settings.MEDIA_URL = "https://media.example.net/public/"
    assert _directives(client.get("/"))["img-src"] == "'self' https://media.example.net"


def test_with_stripe_the_checkout_form_may_go_on_to_stripe(client, settings):
    settings.PAYMENT_PROVIDER = "stripe"
    form_action = _directives(client.get("/"))["form-action"]
    assert form_action == "'self' https://checkout.stripe.com https://connect.stripe.com"


def test_the_standalone_500_page_allows_its_own_inline_style_and_nothing_else(rf, db):
    import re

    from catalog.headers import style_hash
    from shop.errors import server_error

    response = server_error(rf.get("/"))
    body = response.content.decode()
    [css] = re.findall(r"<style>(.*?)</style>", body, re.S)
    style_src = _directives(response)["style-src"].split()
    assert style_src == ["'self'", style_hash(css)]
    assert "style=" not in body and "<script" not in body
