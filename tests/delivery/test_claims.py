"""An account claims guest purchases only after proving the email address."""

from __future__ import annotations

import re

import pytest
from django.core import mail, signing
from django.test import override_settings

from delivery.claims import CLAIM_SALT, claim_token
from delivery.models import Library
from delivery.services import entitlement_grant
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def guest_purchase(product, pdf_asset):
    return entitlement_grant(email="fan@example.com", product=product)


def _claim_link() -> str:
    match = re.search(r"http://testserver(/library/claim/[^\s]+/)", mail.outbox[-1].body)
    assert match
    return match.group(1)


def test_a_confirmed_email_brings_guest_purchases_into_the_account(client, guest_purchase):
    user = UserFactory(email="Fan@Example.com")
    client.force_login(user)
    assert "Bought as a guest with" in client.get("/library/").content.decode()
    assert not Library.objects.filter(user=user).exists()  # an email match alone links nothing
    client.post("/library/claim/")
    assert mail.outbox[-1].to == ["fan@example.com"]
    response = client.get(_claim_link())
    assert response.status_code == 302
    assert Library.objects.get(user=user).email == "fan@example.com"
    assert guest_purchase.product.title in client.get("/library/").content.decode()


def test_a_claim_link_works_only_for_its_own_account(client, guest_purchase):
    owner, intruder = UserFactory(email="fan@example.com"), UserFactory(email="fan@example.com")
    client.force_login(owner)
    client.post("/library/claim/")
    link = _claim_link()
    client.force_login(intruder)
    response = client.get(link)
    assert response.status_code == 400
    assert "another account" in response.content.decode()
    assert Library.objects.get().user is None


def test_a_claim_link_dies_when_the_email_changes(client, guest_purchase):
    user = UserFactory(email="fan@example.com")
    token = claim_token(user_id=user.pk, email="fan@example.com")
    user.email = "new@example.com"
    user.save()
    client.force_login(user)
    assert client.get(f"/library/claim/{token}/").status_code == 400
    assert Library.objects.get().user is None


def test_an_expired_or_forged_claim_link_is_refused(client, guest_purchase, settings):
    user = UserFactory(email="fan@example.com")
    client.force_login(user)
    forged = signing.dumps({"u": user.pk, "e": "fan@example.com"}, salt="another-salt")
    assert client.get(f"/library/claim/{forged}/").status_code == 400
    with override_settings(SECRET_KEY="k" * 60):
        old = claim_token(user_id=user.pk, email="fan@example.com")
    assert "not valid" in client.get(f"/library/claim/{old}/").content.decode()
    assert (
        signing.loads(claim_token(user_id=user.pk, email="fan@example.com"), salt=CLAIM_SALT)["u"]
        == user.pk
    )


def test_purchases_already_claimed_by_someone_else_stay_theirs(client, guest_purchase):
    first, second = UserFactory(email="fan@example.com"), UserFactory(email="fan@example.com")
    Library.objects.update(user=first)
    client.force_login(second)
    token = claim_token(user_id=second.pk, email="fan@example.com")
    response = client.get(f"/library/claim/{token}/")
    assert response.status_code == 400 and "already belong" in response.content.decode()
    assert Library.objects.get().user == first


def test_claiming_needs_a_login(client, db):
    assert client.post("/library/claim/").status_code == 302
    assert mail.outbox == []


def test_a_buyer_signs_up_and_the_guest_purchases_follow_once_confirmed(client, guest_purchase):
    response = client.post(
        "/accounts/signup/", {"email": "FAN@example.com", "password": "a-long-pass-phrase"}
    )
    assert response.status_code == 200 and "One more step" in response.content.decode()
    assert mail.outbox[-1].to == ["fan@example.com"]
    assert client.get(_claim_link()).status_code == 302
    assert guest_purchase.product.title in client.get("/library/").content.decode()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"email": "nope", "password": "a-long-pass-phrase"}, "valid email"),
        ({"email": "new@example.com", "password": "123"}, "too short"),
    ],
)
def test_a_bad_signup_says_what_is_wrong(client, db, data, message):
    response = client.post("/accounts/signup/", data)
    assert response.status_code == 400 and message in response.content.decode()
    assert mail.outbox == []


def test_an_email_that_has_an_account_cannot_sign_up_again(client, db):
    UserFactory(email="fan@example.com")
    response = client.post(
        "/accounts/signup/", {"email": "fan@example.com", "password": "a-long-pass-phrase"}
    )
    assert response.status_code == 400 and "already uses this address" in response.content.decode()
