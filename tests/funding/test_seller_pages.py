"""The seller's campaigns: the form's refusals, tiers, launching, figures, updates, the menu."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from catalog.models import Asset
from shop.funding.models import Campaign, CampaignUpdate, Pledge
from tests.funding.test_pledges import pledge

pytestmark = pytest.mark.django_db


@pytest.fixture
def seller_client(record) -> Client:
    client = Client()
    client.force_login(record.seller.user)
    return client


def _form(record, **changes):
    today = date.today()
    sample = record.assets.get(role=Asset.Role.PREVIEW)
    return {
        "product": record.pk,
        "title": "Low Tide",
        "story": "A *record*.",
        "goal": "2500",
        "deadline": (today + timedelta(days=30)).isoformat(),
        "release_date": (today + timedelta(days=60)).isoformat(),
        "samples": [sample.pk],
        **changes,
    }


def test_a_seller_creates_a_campaign_adds_a_tier_and_launches_it(seller_client, record):
    response = seller_client.post(reverse("funding:sell_campaign_new"), _form(record))
    found = Campaign.objects.get()
    assert response.status_code == 302
    assert (found.goal, found.status, found.samples.count()) == (250000, "draft", 1)
    page = reverse("funding:sell_campaign", args=[found.pk])
    refused = seller_client.post(page, {"action": "launch"})
    assert "add at least one tier" in refused.content.decode()
    seller_client.post(
        page,
        {"action": "tier", "title": "Album", "minimum": "15", "cap": "", "rewards": "The album."},
    )
    seller_client.post(page, {"action": "launch"})
    found.refresh_from_db()
    assert found.status == Campaign.Status.LIVE
    listing = seller_client.get(reverse("funding:sell_campaigns")).content.decode()
    assert "Low Tide" in listing and "Album: 0" in listing
    assert reverse("funding:sell_campaigns") in seller_client.get(page).content.decode()  # menu


@pytest.mark.parametrize(
    ("changes", "field_message"),
    [
        ({"goal": "0"}, "more than zero"),
        ({"goal": "-5"}, ""),
        ({"deadline": (date.today() - timedelta(days=1)).isoformat()}, "in the past"),
        ({"deadline": (date.today() + timedelta(days=61)).isoformat()}, "at most 60 days"),
        ({"release_date": (date.today() + timedelta(days=10)).isoformat()}, "after the campaign"),
        ({"deadline": "soon"}, "as a date"),
        ({"samples": []}, ""),
    ],
)
def test_the_form_refuses_bad_campaigns(seller_client, record, changes, field_message):
    response = seller_client.post(reverse("funding:sell_campaign_new"), _form(record, **changes))
    if changes == {"samples": []}:
        # A draft may wait for its samples; launching asks for them.
        found = Campaign.objects.get()
        found.tiers.create(title="A", minimum=100, rewards="x")
        seller_client.post(reverse("funding:sell_campaign", args=[found.pk]), {"action": "launch"})
        assert Campaign.objects.get().status == Campaign.Status.DRAFT
        return
    assert response.status_code == 400
    assert field_message in response.content.decode()
    assert not Campaign.objects.exists()


def test_another_sellers_campaign_is_not_found(seller_client, campaign):
    other = Client()
    from tests.factories import SellerFactory

    other.force_login(SellerFactory().user)
    assert other.get(reverse("funding:sell_campaign", args=[campaign.pk])).status_code == 404


def test_figures_per_tier_and_updates_mailed_to_every_backer(
    client, seller_client, campaign, tiers
):
    pledge(client, campaign, tiers["album"], email="a@example.com")
    pledge(client, campaign, tiers["credit"], email="b@example.com")
    mail.outbox.clear()
    page = reverse("funding:sell_campaign", args=[campaign.pk])
    body = seller_client.get(page).content.decode()
    assert "€45.00" in body and "a@example.com" in body
    for n in range(3):
        response = seller_client.post(
            page, {"action": "update", "subject": f"News {n}", "body": "Mixing."}
        )
        assert response.status_code == 302
    assert sorted(m.to[0] for m in mail.outbox if m.subject == "News 0") == [
        "a@example.com",
        "b@example.com",
    ]
    limited = seller_client.post(page, {"action": "update", "subject": "Spam", "body": "More."})
    assert limited.status_code == 429
    assert CampaignUpdate.objects.count() == 3
    assert Pledge.objects.count() == 2


def test_a_tier_with_backers_cannot_be_removed(client, seller_client, campaign, tiers):
    pledge(client, campaign, tiers["album"])
    page = reverse("funding:sell_campaign", args=[campaign.pk])
    response = seller_client.post(page, {"action": "tier_delete", "tier": tiers["album"].pk})
    assert response.status_code == 400
    assert campaign.tiers.filter(pk=tiers["album"].pk).exists()


def test_a_stretch_goal_is_above_the_goal(seller_client, campaign):
    page = reverse("funding:sell_campaign", args=[campaign.pk])
    assert (
        seller_client.post(
            page, {"action": "stretch", "amount": "10", "description": "Vinyl"}
        ).status_code
        == 400
    )
    seller_client.post(page, {"action": "stretch", "amount": "100", "description": "Vinyl"})
    assert "Vinyl" in Client().get(campaign.get_absolute_url()).content.decode()


def test_the_sales_dashboard_shows_the_campaigns_figures(client, seller_client, campaign, tiers):
    pledge(client, campaign, tiers["credit"])
    page = seller_client.get(reverse("stats:dashboard")).content.decode()
    assert "Low Tide, the first album" in page
    assert "Credit line: 1" in page and "€30.00" in page


def test_after_the_deadline_the_seller_sees_collected_recovering_and_failed(
    client, seller_client, campaign, tiers
):
    from django.utils import timezone

    from shop.funding.settlement import funding_settle

    pledge(client, campaign, tiers["credit"], email="pays@example.com")
    auth, declines = "pm_test_needs_authentication", "pm_test_declines"
    pledge(client, campaign, tiers["album"], email="auth@example.com", card=auth)
    pledge(client, campaign, tiers["free"], email="no@example.com", amount="7", card=declines)
    past = timezone.now() - timedelta(seconds=1)
    Campaign.objects.filter(pk=campaign.pk).update(deadline=past)
    funding_settle()
    Pledge.objects.filter(email="no@example.com").update(recover_until=past)
    funding_settle()
    detail = seller_client.get(reverse("funding:sell_campaign", args=[campaign.pk])).content
    detail = detail.decode()
    assert "€30.00</strong> collected from 1 backer" in detail
    assert "€15.00</strong> still being recovered (1)" in detail
    assert "€7.00</strong> failed (1 dropped)" in detail
    listing = seller_client.get(reverse("funding:sell_campaigns")).content.decode()
    dashboard = seller_client.get(reverse("stats:dashboard")).content.decode()
    for page in (listing, dashboard):
        cells = re.findall(r'<td class="num">([^<]*)</td>', page)
        assert '€30.00</td><td class="num">€15.00</td><td class="num">€7.00' in page, cells
