"""Refusals speak to a person: what happened, and the one thing to do next."""

from __future__ import annotations

import pytest
from django.urls import reverse

from delivery import access
from delivery.models import Download, Library
from delivery.services import (
    download_record,
    entitlement_grant,
    entitlement_revoke,
    library_link_create,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def owned(product, pdf_asset):
    entitlement = entitlement_grant(email="fan@example.com", product=product)
    return entitlement, pdf_asset


def _download_path(entitlement, asset) -> str:
    signed = access.file_link_mint(entitlement=entitlement, asset=asset)
    return reverse("delivery:download", kwargs={"signed": signed})


def test_an_expired_link_downloads_again_in_one_click_from_the_library_browser(
    client, owned, settings
):
    entitlement, asset = owned
    token = library_link_create(library=entitlement.library)
    client.get(reverse("delivery:library", kwargs={"token": token}))  # the session holds it
    path = _download_path(entitlement, asset)
    settings.FILE_LINK_MAX_AGE = -1
    page = client.get(path)
    assert page.status_code == 410
    fresh = reverse("delivery:file", args=[token, entitlement.pk, asset.pk])
    assert f'href="{fresh}"' in page.content.decode()
    settings.FILE_LINK_MAX_AGE = 300
    minted = client.get(fresh)
    assert minted.status_code == 302
    assert client.get(minted["Location"]).status_code == 200


def test_an_expired_link_opened_elsewhere_only_offers_the_email_route(client, owned, settings):
    entitlement, asset = owned
    settings.FILE_LINK_MAX_AGE = -1
    html = client.get(_download_path(entitlement, asset)).content.decode()
    assert "Download again" not in html
    assert f"/library/files/{entitlement.pk}/" not in html
    assert reverse("delivery:library_request") in html


def test_an_expired_link_of_another_library_gets_no_shortcut(client, owned, settings):
    entitlement, asset = owned
    stranger = entitlement_grant(email="stranger@example.com", product=entitlement.product)
    token = library_link_create(library=stranger.library)
    client.get(reverse("delivery:library", kwargs={"token": token}))
    settings.FILE_LINK_MAX_AGE = -1
    html = client.get(_download_path(entitlement, asset)).content.decode()
    assert "Download again" not in html
    # Its own library is still one click away.
    assert reverse("delivery:library", kwargs={"token": token}) in html


def test_a_signed_in_owner_gets_a_fresh_link_from_the_account(client, owned, settings):
    entitlement, asset = owned
    user = UserFactory(email="fan@example.com")
    Library.objects.filter(pk=entitlement.library_id).update(user=user)
    client.force_login(user)
    settings.FILE_LINK_MAX_AGE = -1
    html = client.get(_download_path(entitlement, asset)).content.decode()
    assert reverse("delivery:account_file", args=[entitlement.pk, asset.pk]) in html


def test_a_revoked_purchase_says_why_and_what_to_do(client, owned):
    entitlement, asset = owned
    path = _download_path(entitlement, asset)
    entitlement_revoke(entitlement=entitlement, reason="Refunded on 3 May at your request.")
    page = client.get(path)
    html = page.content.decode()
    assert page.status_code == 403
    assert "Refunded on 3 May at your request." in html
    assert entitlement.product.title in html
    assert "reply to your receipt email" in html


def test_a_reached_limit_says_how_to_get_help(client, owned, settings):
    entitlement, asset = owned
    entitlement.download_limit = 1
    entitlement.save()
    download_record(entitlement=entitlement, asset=asset, ip=None, user_agent="", range_header="")
    Download.objects.update(at="2000-01-01T00:00:00Z")
    page = client.get(_download_path(entitlement, asset))
    html = page.content.decode()
    assert page.status_code == 403
    assert "Download limit reached" in html
    assert "allows 1 download of each file" in html
    assert "ask for the limit to be reset" in html
    assert entitlement.product.seller.get_absolute_url() in html


def test_a_tampered_link_is_a_plain_404_without_details(client, owned):
    entitlement, asset = owned
    page = client.get(_download_path(entitlement, asset)[:-4] + "xx/")
    assert page.status_code == 404
    html = page.content.decode()
    assert entitlement.product.title not in html and "expired" not in html
