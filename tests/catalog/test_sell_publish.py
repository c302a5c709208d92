"""Publish and Unpublish on the Files page: the product form's service and rules."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from catalog.models import Product
from tests.factories import ProductFactory, SellerFactory, add_file, wav_bytes

pytestmark = pytest.mark.django_db


def _set(client, product, status: str):
    return client.post(
        reverse("catalog:sell_product_status", args=[product.pk]), {"status": status}, follow=True
    )


def test_the_files_page_publishes_a_product_with_a_file(seller_client, draft, track):
    page = seller_client.get(reverse("catalog:sell_files", args=[draft.pk])).content.decode()
    assert 'name="status" value="published">Publish</button>' in page
    response = _set(seller_client, draft, "published")
    draft.refresh_from_db()
    assert draft.status == Product.Status.PUBLISHED
    html = response.content.decode()
    assert "“Night Trains” is published" in html
    assert 'name="status" value="draft">Unpublish</button>' in html
    assert Client().get(draft.get_absolute_url()).status_code == 200


def test_unpublishing_from_the_files_page_makes_a_draft_again(seller_client, draft, track):
    Product.objects.filter(pk=draft.pk).update(status=Product.Status.PUBLISHED)
    response = _set(seller_client, draft, "draft")
    draft.refresh_from_db()
    assert draft.status == Product.Status.DRAFT
    assert "is a draft again" in response.content.decode()
    assert Client().get(draft.get_absolute_url()).status_code == 404


def test_publishing_without_a_file_says_what_is_missing(seller_client, draft):
    response = _set(seller_client, draft, "published")
    draft.refresh_from_db()
    assert draft.status == Product.Status.DRAFT
    assert (
        "Before publishing, add at least one file for buyers on the product&#x27;s Files page."
        in response.content.decode()
    )


def test_an_unconfirmed_email_without_files_hears_both_steps_at_once(db):
    seller = SellerFactory(email_verified_at=None)
    product = ProductFactory(seller=seller, status=Product.Status.DRAFT)
    client = Client()
    client.force_login(seller.user)
    html = _set(client, product, "published").content.decode()
    product.refresh_from_db()
    assert product.status == Product.Status.DRAFT
    assert "Before publishing, verify your email address" in html
    assert "and add at least one file for buyers" in html
    assert "Needs your confirmed email and at least one file for buyers." in html


def test_an_unconfirmed_email_with_a_file_still_cannot_publish(db):
    seller = SellerFactory(email_verified_at=None)
    product = ProductFactory(seller=seller, status=Product.Status.DRAFT)
    add_file(product, wav_bytes(2000), "a.wav")
    client = Client()
    client.force_login(seller.user)
    html = _set(client, product, "published").content.decode()
    product.refresh_from_db()
    assert product.status == Product.Status.DRAFT
    assert "Before publishing, verify your email address" in html
    assert "add at least one file" not in html


def test_another_sellers_product_cannot_be_published(db, draft, track):
    stranger = Client()
    stranger.force_login(SellerFactory().user)
    response = stranger.post(
        reverse("catalog:sell_product_status", args=[draft.pk]), {"status": "published"}
    )
    assert response.status_code == 404
    draft.refresh_from_db()
    assert draft.status == Product.Status.DRAFT


def test_a_status_other_than_publish_or_unpublish_is_refused(seller_client, draft, track):
    html = _set(seller_client, draft, "archived").content.decode()
    draft.refresh_from_db()
    assert draft.status == Product.Status.DRAFT
    assert "Choose Publish or Unpublish." in html
