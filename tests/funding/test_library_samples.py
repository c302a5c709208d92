"""A backer's library plays the campaign's sample tracks from the pledge on, while it holds."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from delivery.services import library_get_or_create, library_link_create
from shop.funding.models import Campaign, Pledge
from shop.funding.settlement import funding_settle
from tests.funding.test_pledges import pledge, pledge_link

pytestmark = pytest.mark.django_db


def library_page(client, email: str) -> str:
    token = library_link_create(library=library_get_or_create(email=email))
    response = client.get(f"/library/{token}/")
    assert response.status_code == 200
    return response.content.decode()


def sample_url(campaign: Campaign) -> str:
    return campaign.samples.get().public_file.url


def test_the_library_plays_the_samples_from_the_moment_the_card_is_saved(client, campaign, tiers):
    pledge(client, campaign, tiers["album"], card=None)  # started, card not saved yet
    assert sample_url(campaign) not in library_page(client, "fan@example.com")
    response = client.post(
        f"/campaigns/card/test/{Pledge.objects.get().public_id}/",
        {"card": "pm_test_pays"},
    )
    assert response.status_code == 302
    page = library_page(client.__class__(), "fan@example.com")
    url = sample_url(campaign)
    assert re.search(rf'<audio controls preload="none" src="{re.escape(url)}"', page)
    assert campaign.title in page and "Backer #1" in page
    assert "Nothing here yet" not in page
    # The player's source is the preview's public file: it plays for anyone's browser.
    played = client.get(url)
    assert played.status_code == 200
    assert b"".join(played.streaming_content if played.streaming else [played.content])


def test_a_cancelled_pledge_takes_the_samples_away(client, campaign, tiers):
    pledge(client, campaign, tiers["album"])
    assert sample_url(campaign) in library_page(client, "fan@example.com")
    client.post(pledge_link("fan@example.com"), {"action": "cancel"})
    assert Pledge.objects.get().status == Pledge.Status.CANCELLED
    assert sample_url(campaign) not in library_page(client, "fan@example.com")


def test_a_charged_backer_keeps_the_samples_and_nobody_else_gets_them(client, campaign, tiers):
    pledge(client, campaign, tiers["credit"], email="Ada@Example.com")
    pledge(client, campaign, tiers["credit"], email="bo@example.com")
    Campaign.objects.filter(pk=campaign.pk).update(deadline=timezone.now() - timedelta(seconds=1))
    funding_settle()
    assert Pledge.objects.filter(status=Pledge.Status.CHARGED).count() == 2
    assert sample_url(campaign) in library_page(client, "ada@example.com")
    assert sample_url(campaign) not in library_page(client, "someone@example.com")


def test_a_dropped_pledge_loses_the_samples(client, campaign, tiers):
    pledge(client, campaign, tiers["credit"], email="a@example.com")
    pledge(client, campaign, tiers["credit"], email="no@example.com", card="pm_test_declines")
    Campaign.objects.filter(pk=campaign.pk).update(deadline=timezone.now() - timedelta(seconds=1))
    funding_settle()
    assert sample_url(campaign) in library_page(client, "no@example.com")  # still in grace
    Pledge.objects.filter(email="no@example.com").update(
        recover_until=timezone.now() - timedelta(seconds=1)
    )
    funding_settle()
    assert Pledge.objects.get(email="no@example.com").status == Pledge.Status.DROPPED
    assert sample_url(campaign) not in library_page(client, "no@example.com")
