"""Closing in test mode: all or nothing, recovery, grace period, release, resuming after a crash."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from freezegun import freeze_time

from catalog.models import Product
from delivery.models import Entitlement
from shop.funding.models import Campaign, Pledge
from shop.funding.settlement import funding_settle
from shop.models import LedgerEntry, Order
from tests.factories import add_file, demo_media
from tests.funding.test_pledges import pledge
from tests.helpers import emails_to

pytestmark = pytest.mark.django_db


def close(campaign: Campaign) -> None:
    Campaign.objects.filter(pk=campaign.pk).update(deadline=timezone.now() - timedelta(seconds=1))


@pytest.fixture
def backed(client, campaign, tiers):
    """Three backers: a card that pays, one whose bank asks for authentication, one declined."""
    pledge(client, campaign, tiers["credit"], email="pays@example.com", card="pm_test_pays")
    pledge(
        client,
        campaign,
        tiers["album"],
        email="auth@example.com",
        card="pm_test_needs_authentication",
    )
    pledge(
        client,
        campaign,
        tiers["free"],
        email="declines@example.com",
        amount="20",
        card="pm_test_declines",
    )
    mail.outbox.clear()
    return campaign


def test_goal_met_charges_each_pledge_once_and_asks_failed_cards_to_pay(backed, commit):
    close(backed)  # 30 + 15 + 20 = 65 ≥ 50
    with commit():
        report = funding_settle()
    assert (report.charged, report.recovering) == (1, 2)
    backed.refresh_from_db()
    assert backed.status == Campaign.Status.SUCCEEDED and backed.goal_met
    paid = Pledge.objects.get(email="pays@example.com")
    assert paid.status == Pledge.Status.CHARGED
    assert paid.order.status == Order.Status.PAID and paid.order.total == 3000
    assert paid.order.items.get().note == "Backer #1 of 3"
    # An order like any sale: the seller's share is in the ledger; the record waits for release.
    assert LedgerEntry.objects.filter(item__order=paid.order, kind="sale").count() == 1
    assert not Entitlement.objects.exists()
    [receipt] = emails_to("pays@example.com")
    assert "receipt" in receipt.subject.lower()
    for email in ("auth@example.com", "declines@example.com"):
        found = Pledge.objects.get(email=email)
        assert found.status == Pledge.Status.RECOVERING
        assert found.order.status == Order.Status.PENDING
        [needed] = emails_to(email)
        assert "payment needs you" in needed.subject
    # Again: nothing more happens.
    with commit():
        again = funding_settle()
    assert (again.charged, again.recovering, len(again.campaigns)) == (0, 0, 0)
    assert Order.objects.filter(status=Order.Status.PAID).count() == 1
    assert len(mail.outbox) == 4  # a receipt, two payment requests, the seller's sale notice


def test_a_backer_pays_on_session_within_the_grace_period(client, backed, commit):
    close(backed)
    with commit():
        funding_settle()
    link = re.search(r"http://\S+/pledges/\S+/", emails_to("auth@example.com")[-1].body).group(0)
    response = client.post(link, {"action": "pay"})
    order = Pledge.objects.get(email="auth@example.com").order
    assert response["Location"] == reverse("shop:test_pay", kwargs={"order": order.public_id})
    client.post(response["Location"], {"outcome": "pay"})
    page = client.get(link).content.decode()
    assert Pledge.objects.get(email="auth@example.com").status == Pledge.Status.CHARGED
    assert "Charged" in page


def test_a_declined_pledge_is_dropped_after_the_grace_period_and_its_place_freed(
    backed, commit, settings
):
    close(backed)
    with commit():
        funding_settle()
    with freeze_time(timezone.now() + timedelta(days=settings.FUNDING_GRACE_DAYS, hours=1)):
        report = funding_settle()
    assert report.dropped == 2
    declined = Pledge.objects.get(email="declines@example.com")
    assert declined.status == Pledge.Status.DROPPED
    assert declined.order.status == Order.Status.EXPIRED


def test_a_missed_goal_charges_nobody_and_tells_each_backer_once(client, campaign, tiers, commit):
    pledge(client, campaign, tiers["album"], email="a@example.com")
    pledge(client, campaign, tiers["album"], email="b@example.com")
    mail.outbox.clear()
    close(campaign)
    out = io.StringIO()
    with commit():
        call_command("funding_settle", stdout=out)
        call_command("funding_settle", stdout=out)
    assert "released unfunded 2" in out.getvalue()
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.FAILED and campaign.goal_met is False
    assert not Order.objects.exists()
    assert set(Pledge.objects.values_list("status", flat=True)) == {Pledge.Status.RELEASED}
    assert sorted(m.to[0] for m in mail.outbox) == ["a@example.com", "b@example.com"]
    assert all("nothing was charged" in m.subject for m in mail.outbox)


def test_release_grants_every_charged_backer_the_record_once(client, backed, commit):
    close(backed)
    with commit():
        funding_settle()
    record = backed.product
    with commit():
        assert funding_settle().delivered == 0  # not published yet
    add_file(record, demo_media("album-02-tunnel.mp3"), "02 tunnel.mp3")
    Product.objects.filter(pk=record.pk).update(status=Product.Status.PUBLISHED)
    mail.outbox.clear()
    with commit():
        assert funding_settle().delivered == 1
        assert funding_settle().delivered == 0
    [entitlement] = Entitlement.objects.filter(product=record)
    assert entitlement.library.email == "pays@example.com"
    assert entitlement.note == "Backer #1 of 3"
    [released] = mail.outbox
    library = re.search(r"http://\S+/library/\S+/", released.body).group(0)
    page = client.get(library).content.decode()
    assert "02 tunnel.mp3" in page and "Backer #1 of 3" in page


def test_a_crash_half_way_resumes_without_charging_anyone_twice(client, campaign, tiers, commit):
    for n in range(5):
        pledge(client, campaign, tiers["album"], email=f"fan{n}@example.com")
    close(campaign)
    seen = []

    def crash_after_two():
        seen.append(1)
        if len(seen) == 2:
            raise KeyboardInterrupt("the clock's machine went away")

    with pytest.raises(KeyboardInterrupt):
        funding_settle(after_charge=crash_after_two)
    assert Pledge.objects.filter(status=Pledge.Status.CHARGED).count() == 2
    # A second clock at once finds the campaign taken; after the lease, it resumes.
    assert funding_settle().campaigns == []
    with freeze_time(timezone.now() + timedelta(minutes=11)), commit():
        report = funding_settle()
    assert report.charged == 3
    assert Order.objects.filter(status=Order.Status.PAID).count() == 5
    assert Order.objects.count() == 5
    assert Campaign.objects.get().status == Campaign.Status.SUCCEEDED
