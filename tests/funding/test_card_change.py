"""The card: changed before the deadline, another one paying during the grace period."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from shop.funding.models import Campaign, Pledge
from shop.funding.settlement import funding_settle
from shop.models import Order
from tests.funding.test_pledges import pledge, pledge_link

pytestmark = pytest.mark.django_db


def test_the_backer_changes_the_card_before_the_deadline_and_the_new_one_is_charged(
    client, campaign, tiers
):
    pledge(client, campaign, tiers["credit"], email="a@example.com")
    pledge(client, campaign, tiers["credit"], email="b@example.com", card="pm_test_declines")
    other = client.__class__()  # the mailed link, in another browser
    response = other.post(pledge_link("b@example.com"), {"action": "card"})
    assert response.status_code == 302 and "/campaigns/card/test/" in response["Location"]
    other.post(response["Location"], {"card": "pm_test_pays"})
    found = Pledge.objects.get(email="b@example.com")
    assert found.payment_method_id == "pm_test_pays" and found.number == 2
    Campaign.objects.filter(pk=campaign.pk).update(deadline=timezone.now() - timedelta(seconds=1))
    report = funding_settle()
    assert (report.charged, report.recovering) == (2, 0)


def test_after_the_deadline_tier_amount_and_card_no_longer_change(client, campaign, tiers):
    pledge(client, campaign, tiers["album"])
    link = pledge_link("fan@example.com")
    Campaign.objects.filter(pk=campaign.pk).update(deadline=timezone.now() - timedelta(seconds=1))
    page = client.get(link).content.decode()
    assert "Save the change" not in page and "Use another card" not in page
    response = client.post(
        link, {"action": "change", "tier": tiers["free"].pk, "amount": "20", "currency": "EUR"}
    )
    assert response.status_code == 400
    assert "This campaign has closed: pledges can no longer be made or changed." in (
        response.content.decode()
    )
    refused = client.post(link, {"action": "card"}, follow=True).content.decode()
    assert "The card can be changed until the deadline." in refused
    found = Pledge.objects.get()
    assert (found.tier, found.amount, found.payment_method_id) == (
        tiers["album"],
        1500,
        "pm_test_pays",
    )


@pytest.mark.parametrize("card", ["pm_test_declines", "pm_test_needs_authentication"])
def test_in_the_grace_period_the_backer_pays_on_session_with_another_card(
    client, campaign, tiers, card
):
    pledge(client, campaign, tiers["credit"], email="a@example.com")
    pledge(client, campaign, tiers["credit"], email="b@example.com", card=card)
    Campaign.objects.filter(pk=campaign.pk).update(deadline=timezone.now() - timedelta(seconds=1))
    funding_settle()
    link = pledge_link("b@example.com")
    page = client.get(link).content.decode()
    assert "Pay €30.00 now" in page
    response = client.post(link, {"action": "pay"})
    assert response.status_code == 302 and response["Location"].startswith("/pay/test/")
    client.post(response["Location"], {"outcome": "pay"})  # the test page's "another card"
    assert "Charged" in client.get(link).content.decode()
    found = Pledge.objects.get(email="b@example.com")
    assert found.status == Pledge.Status.CHARGED
    assert Order.objects.filter(pledges=found, status=Order.Status.PAID).count() == 1
    assert Order.objects.filter(status=Order.Status.PAID).count() == 2
    funding_settle()
    assert Order.objects.filter(status=Order.Status.PAID).count() == 2
