"""Mails a visitor makes delivery send (lost library link, claim link, buyer sign-up) go
through the one limiter: per recipient and per sender, shared by every web process."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client, override_settings
from django.urls import reverse

from delivery.services import entitlement_grant
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-pass-phrase"


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    return lambda: django_capture_on_commit_callbacks(execute=True)


@override_settings(LIMIT_MAIL_SENDER=(3, 3600))
def test_lost_link_requests_from_one_client_are_limited_whatever_the_address(
    product, commit, limit_clock
):
    for n in range(4):
        entitlement_grant(email=f"fan{n}@example.com", product=product)
    client = Client(REMOTE_ADDR="203.0.113.9")
    with commit():
        answers = [
            client.post("/library/lost/", {"email": f"fan{n}@example.com"}) for n in range(4)
        ]
    assert [r.status_code for r in answers] == [200, 200, 200, 429]
    assert answers[3]["Retry-After"] == "3600"
    assert "try again in 60 minutes" in answers[3].content.decode()
    assert [m.to for m in mail.outbox] == [[f"fan{n}@example.com"] for n in range(3)]


@override_settings(LIMIT_MAIL_SENDER=(3, 3600))
def test_an_ipv6_client_counts_as_its_whole_network(product, commit, limit_clock):
    statuses = [
        Client(REMOTE_ADDR=f"2001:db8:1:2::{n}")
        .post("/library/lost/", {"email": f"fan{n}@example.com"})
        .status_code
        for n in range(4)
    ]
    assert statuses == [200, 200, 200, 429]


@override_settings(LIMIT_MAIL_RECIPIENT=(2, 3600))
def test_claim_links_are_limited_per_recipient(commit, limit_clock):
    user = UserFactory(email="fan@example.com")
    client = Client()
    client.force_login(user)
    with commit():
        answers = [client.post(reverse("delivery:claim_start")) for _ in range(3)]
    assert [r.status_code for r in answers] == [200, 200, 429]
    assert answers[2]["Retry-After"] == "3600"
    assert "Please wait a little" in answers[2].content.decode()
    assert len(mail.outbox) == 2


@override_settings(LIMIT_MAIL_SENDER=(2, 3600))
def test_a_signed_in_account_is_limited_as_a_sender_from_any_address(commit, limit_clock):
    user = UserFactory(email="fan@example.com")
    statuses = []
    for n in range(3):
        client = Client(REMOTE_ADDR=f"10.2.0.{n}")
        client.force_login(user)
        with commit():
            statuses.append(client.post(reverse("delivery:claim_start")).status_code)
    assert statuses == [200, 200, 429]
    assert len(mail.outbox) == 2


@override_settings(LIMIT_MAIL_SENDER=(2, 3600))
def test_buyer_signups_past_the_limit_make_no_account_and_keep_the_form(commit, limit_clock):
    client = Client(REMOTE_ADDR="203.0.113.20")
    for n in range(2):
        with commit():
            client.post(
                reverse("delivery:signup"), {"email": f"b{n}@example.com", "password": PASSWORD}
            )
        client.logout()
    with commit():
        refused = client.post(
            reverse("delivery:signup"), {"email": "victim@example.com", "password": PASSWORD}
        )
    assert refused.status_code == 429 and refused["Retry-After"] == "3600"
    page = refused.content.decode()
    assert "Too many emails have been asked for" in page
    assert 'value="victim@example.com"' in page
    assert not get_user_model().objects.filter(email="victim@example.com").exists()
    assert [m.to for m in mail.outbox] == [["b0@example.com"], ["b1@example.com"]]
