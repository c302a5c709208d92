"""The library: reached by link or account, revocable, and recoverable by email."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import override_settings
from django.urls import reverse

from delivery import access
from delivery.models import Library, LibraryLink
from delivery.services import (
    entitlement_grant,
    library_get_or_create,
    library_link_create,
    library_link_revoke,
)
from tests.factories import ProductFactory, UserFactory, add_file

pytestmark = pytest.mark.django_db


@pytest.fixture
def bought(product, pdf_asset):
    entitlement = entitlement_grant(email="fan@example.com", product=product)
    token = library_link_create(library=entitlement.library)
    return entitlement, token


def test_the_library_lists_purchases_and_their_files(client, bought, pdf_asset):
    entitlement, token = bought
    html = client.get(reverse("delivery:library", kwargs={"token": token})).content.decode()
    assert entitlement.product.title in html
    assert pdf_asset.original_filename in html
    assert reverse("delivery:file", args=[token, entitlement.pk, pdf_asset.pk]) in html


def test_only_a_hash_of_the_library_token_is_stored(bought):
    _, token = bought
    assert not LibraryLink.objects.filter(token_hash=token).exists()
    assert access.access_library_link(token=token)


def test_a_revoked_or_unknown_library_link_is_404_with_a_way_out(client, bought):
    _, token = bought
    library_link_revoke(link=access.access_library_link(token=token))
    for candidate in (token, "nope"):
        response = client.get(reverse("delivery:library", kwargs={"token": candidate}))
        assert response.status_code == 404
        assert reverse("delivery:library_request") in response.content.decode()


def test_a_library_link_cannot_reach_another_buyers_purchase(client, bought):
    _, token = bought
    other = ProductFactory()
    foreign_asset = add_file(other)
    foreign = entitlement_grant(email="other@example.com", product=other)
    response = client.get(reverse("delivery:file", args=[token, foreign.pk, foreign_asset.pk]))
    assert response.status_code == 404


def test_the_account_library_shows_the_linked_library_only(client, bought):
    entitlement, _ = bought
    user = UserFactory(email="fan@example.com")
    client.force_login(user)
    assert "No purchases are linked" in client.get("/library/").content.decode()
    Library.objects.filter(pk=entitlement.library_id).update(user=user)
    html = client.get("/library/").content.decode()
    assert entitlement.product.title in html
    asset = entitlement.product.assets.get()
    minted = client.get(reverse("delivery:account_file", args=[entitlement.pk, asset.pk]))
    assert minted.status_code == 302 and "/download/" in minted["Location"]


def test_the_account_library_needs_a_login(client, db):
    response = client.get("/library/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_lost_link_is_emailed_without_saying_whether_the_email_bought(
    client, bought, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        known = client.post("/library/lost/", {"email": "FAN@example.com"})
        unknown = client.post("/library/lost/", {"email": "stranger@example.com"})
    assert known.status_code == unknown.status_code == 200
    assert "If fan@example.com has bought" in known.content.decode()
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["fan@example.com"]
    assert "/library/" in mail.outbox[0].body


@override_settings(LIMIT_MAIL_RECIPIENT=(3, 3600))
def test_lost_link_requests_are_rate_limited(
    client, bought, django_capture_on_commit_callbacks, limit_clock
):
    with django_capture_on_commit_callbacks(execute=True):
        answers = [client.post("/library/lost/", {"email": "fan@example.com"}) for _ in range(5)]
    assert [r.status_code for r in answers] == [200, 200, 200, 429, 429]
    assert answers[3]["Retry-After"] == "3600"
    assert "Too many emails" in answers[3].content.decode()
    assert 'value="fan@example.com"' in answers[3].content.decode()
    assert len(mail.outbox) == 3


def test_a_bad_email_on_the_lost_link_form_is_400(client, db):
    response = client.post("/library/lost/", {"email": "nope"})
    assert response.status_code == 400
    assert "Enter a valid email" in response.content.decode()


def test_libraries_are_one_per_email_whatever_the_case(db):
    assert library_get_or_create(email="A@Example.com") == library_get_or_create(
        email="a@example.com "
    )
    assert Library.objects.count() == 1


def test_a_lost_link_is_sent_by_a_task_with_no_token_in_the_queue(
    client, bought, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post("/library/lost/", {"email": "fan@example.com"})
    assert response.status_code == 200
    # Nothing is sent inside the request: the mail goes out once the task runs.
    assert mail.outbox == [] and len(callbacks) == 1
    links_before = LibraryLink.objects.count()
    callbacks[0]()
    assert len(mail.outbox) == 1 and LibraryLink.objects.count() == links_before + 1


@pytest.mark.parametrize(
    ("language", "reason", "shown"),
    [
        ("en", "Refunded.", "Access to this purchase was removed. Refunded."),
        ("fr", "Refunded.", "L’accès à cet achat a été retiré. Remboursé."),
        ("fr", "The payment was disputed.", "retiré. Le paiement a été contesté."),
        # A seller's own words are shown as they wrote them.
        ("fr", "Wrong file, sorry", "retiré. Wrong file, sorry"),
    ],
)
def test_why_a_purchase_was_removed_is_said_in_the_reader_s_language(
    client, bought, language, reason, shown
):
    from delivery.services import entitlement_revoke

    entitlement, token = bought
    entitlement_revoke(entitlement=entitlement, reason=reason)
    path = reverse("delivery:library", kwargs={"token": token})
    html = client.get(path, HTTP_ACCEPT_LANGUAGE=language, follow=True).content.decode()
    assert shown in html
