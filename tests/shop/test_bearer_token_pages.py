"""Pages whose URL grants access are never cached and never leak their URL as a referrer.

``Referrer-Policy: same-origin`` is pinned on them (not ``no-referrer``, under
which browsers send ``Origin: null`` with the pages' own forms and Django's
CSRF check refuses them: see the browser tests).
"""

from __future__ import annotations

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from catalog.headers import BEARER_MARK
from catalog.services.sellers import email_verification_token
from delivery import access
from delivery.claims import claim_token
from delivery.services import entitlement_grant, library_link_create
from shop.models import Order
from tests.factories import ProductFactory, SellerFactory, UserFactory, add_file
from tests.helpers import start_checkout

pytestmark = pytest.mark.django_db

# A parameter by one of these names is a secret: whoever has the URL has the access.
TOKEN_PARAMETERS = {"token", "signed", "order", "uidb64"}


def _patterns(resolver: URLResolver, prefix: str = ""):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            yield from _patterns(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry


def test_every_view_with_a_token_in_its_url_is_a_bearer_token_page():
    found, missing = [], []
    for route, pattern in _patterns(get_resolver()):
        if TOKEN_PARAMETERS & set(pattern.pattern.converters):
            found.append(route)
            if not getattr(pattern.callback, BEARER_MARK, False):
                missing.append(route)
    assert missing == []
    # The walk sees them all (a renamed parameter would hide a page from it).
    assert len(found) >= 8, found


def _assert_private(response) -> None:
    assert response["Cache-Control"] == "private, no-store"
    assert response["Referrer-Policy"] == "same-origin"


def test_every_bearer_token_page_answers_private_and_without_referrer(client, settings):
    product = ProductFactory(price=500)
    asset = add_file(product)
    start_checkout(client, product)
    order = Order.objects.get()
    entitlement = entitlement_grant(email="fan@example.com", product=product)
    token = library_link_create(library=entitlement.library)
    signed = access.file_link_mint(entitlement=entitlement, asset=asset)
    user = UserFactory(email="fan@example.com")
    seller = SellerFactory()
    pages = {
        "library": reverse("delivery:library", kwargs={"token": token}),
        "library file link": reverse("delivery:file", args=[token, entitlement.pk, asset.pk]),
        "download": reverse("delivery:download", kwargs={"signed": signed}),
        "refused download": reverse("delivery:download", kwargs={"signed": signed + "x"}),
        "receipt": order.get_absolute_url(),
        "receipt file link": reverse(
            "shop:receipt_file", args=[order.public_id, entitlement.pk, asset.pk]
        ),
        "test payment": reverse("shop:test_pay", kwargs={"order": order.public_id}),
        "email verify": reverse(
            "catalog:sell_verify", kwargs={"token": email_verification_token(seller=seller)}
        ),
        "password reset": reverse(
            "password_reset_confirm",
            kwargs={
                "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
                "token": default_token_generator.make_token(user),
            },
        ),
    }
    for name, url in pages.items():
        response = client.get(url)
        assert response.status_code < 500, name
        assert response.get("Cache-Control") == "private, no-store", (name, response.status_code)
        assert response.get("Referrer-Policy") == "same-origin", name
    claim = reverse(
        "delivery:claim_finish", kwargs={"token": claim_token(user_id=user.pk, email=user.email)}
    )
    _assert_private(Client().get(claim))  # logged out: the way to log in carries it on
    login_page = Client().get(reverse("login") + "?next=" + claim)
    _assert_private(login_page)
    signed_in = Client()
    signed_in.force_login(user)
    _assert_private(signed_in.get(claim))
    _assert_private(signed_in.get(reverse("delivery:account_file", args=[entitlement.pk, 1])))


def test_the_token_pages_keep_their_policy_when_the_site_loosens_its_own(client, settings):
    settings.SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
    product = ProductFactory()
    token = library_link_create(
        library=entitlement_grant(email="fan@example.com", product=product).library
    )
    assert client.get("/")["Referrer-Policy"] == "strict-origin-when-cross-origin"
    page = client.get(reverse("delivery:library", kwargs={"token": token}))
    assert page["Referrer-Policy"] == "same-origin"


def test_ordinary_pages_may_be_cached_by_the_browser(client):
    response = client.get(reverse("catalog:home"))
    assert "no-store" not in response.get("Cache-Control", "")
