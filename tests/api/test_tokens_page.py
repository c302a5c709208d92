"""The tokens page under /sell/api/: make one (shown once), see it used, revoke it."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from delivery.services import hash_token
from shop.api.models import ApiToken
from tests.api.conftest import Api, Shop, error_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(shop_a: Shop) -> Client:
    client = Client()
    client.force_login(shop_a.seller.user)
    return client


def _create(browser: Client, **fields) -> tuple[object, str]:  # type: ignore[no-untyped-def]
    data = {"name": "Accounts", "scopes": ["sales:read"], "expires": "90", **fields}
    response = browser.post("/sell/api/", data)
    found = re.search(r"ech_[A-Za-z0-9_-]{43}", response.content.decode())
    return response, found.group(0) if found else ""


def test_the_seller_menu_leads_to_the_tokens_page(browser: Client) -> None:
    page = browser.get("/sell/").content.decode()
    assert 'href="/sell/api/"' in page


def test_a_token_made_on_the_page_is_shown_once_and_works(
    browser: Client, shop_a: Shop, api: Api
) -> None:
    response, secret = _create(browser)
    assert response.status_code == 200 and secret
    assert response["Cache-Control"] == "private, no-store"
    token = ApiToken.objects.get(seller=shop_a.seller, name="Accounts")
    assert token.token_hash == hash_token(secret) and token.scopes == ["sales:read"]
    assert token.expires_at is not None
    # Shown once: the page afterwards lists the token by its prefix only.
    later = browser.get("/sell/api/").content.decode()
    assert secret not in later and token.prefix in later
    assert "Never used" in later
    assert api.get("sales", secret).status_code == 200
    assert api.get("products", secret).status_code == 403
    assert "Never used" not in browser.get("/sell/api/").content.decode()


def test_a_token_without_permissions_is_not_made(browser: Client, shop_a: Shop) -> None:
    response, secret = _create(browser, scopes=[])
    assert response.status_code == 400 and not secret
    assert not ApiToken.objects.filter(seller=shop_a.seller).exists()


def test_revoking_a_token_refuses_it_at_once(browser: Client, shop_a: Shop, api: Api) -> None:
    _, secret = _create(browser)
    token = ApiToken.objects.get(seller=shop_a.seller)
    response = browser.post(f"/sell/api/{token.pk}/revoke/")
    assert response.status_code == 302
    refused = api.get("sales", secret)
    assert refused.status_code == 401 and error_of(refused)["code"] == "revoked_token"
    assert "Revoked" in browser.get("/sell/api/").content.decode()


def test_another_sellers_token_cannot_be_revoked(browser: Client, shop_b: Shop) -> None:
    shop_b.token()
    theirs = ApiToken.objects.get(seller=shop_b.seller)
    assert browser.post(f"/sell/api/{theirs.pk}/revoke/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None


def test_another_sellers_tokens_are_not_listed(browser: Client, shop_b: Shop) -> None:
    shop_b.token()
    theirs = ApiToken.objects.get(seller=shop_b.seller)
    assert theirs.prefix not in browser.get("/sell/api/").content.decode()


def test_the_page_speaks_french_under_fr(browser: Client) -> None:
    page = browser.get("/fr/sell/api/").content.decode()
    assert "Jetons d’API" in page
    assert "Créer le jeton" in page
