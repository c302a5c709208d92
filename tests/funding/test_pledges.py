"""Pledging in test mode: a card saved, not charged; changed, cancelled; bad input refused."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from shop.funding.models import Campaign, Pledge
from shop.models import Order
from tests.helpers import emails_to

pytestmark = pytest.mark.django_db


def pledge(
    client, campaign, tier, *, email="fan@example.com", amount="", card="pm_test_pays", **extra
):
    """Pledge on the campaign page, then save a test card; returns the last response."""
    response = client.post(
        campaign.get_absolute_url(),
        {"tier": tier.pk, "amount": amount, "email": email, "currency": "EUR", **extra},
    )
    if response.status_code != 302 or card is None:
        return response
    return client.post(response["Location"], {"card": card})


def pledge_link(email: str) -> str:
    [message] = [m for m in emails_to(email) if "pledge" in m.subject.lower()]
    return re.search(r"http://\S+/pledges/\S+/", message.body).group(0)


def test_the_campaign_page_shows_samples_first_then_progress_and_tiers(client, campaign, tiers):
    response = client.get(campaign.get_absolute_url())
    page = response.content.decode()
    assert response.status_code == 200
    assert page.index("<audio") < page.index("<progress") < page.index("Choose a tier")
    assert 'max="100" value="0"' in page
    assert "2 of 2 left" in page
    assert "style=" not in page


def test_a_pledge_saves_the_card_charges_nothing_and_mails_a_magic_link(client, campaign, tiers):
    response = pledge(client, campaign, tiers["album"], wall_name="Ada", on_wall="1")
    found = Pledge.objects.get()
    assert response.status_code == 302
    assert response["Location"].startswith("/pledges/")
    assert found.status == Pledge.Status.ACTIVE
    assert found.amount == 1500 and found.number == 1
    assert found.promised == "The album on release day."
    assert not Order.objects.exists()  # saved, not charged
    page = client.get(response["Location"]).content.decode()
    assert "Backer #1 of 1" in page
    link = pledge_link("fan@example.com")
    assert client.get(link).status_code == 200
    wall = client.get(campaign.get_absolute_url()).content.decode()
    assert "Ada" in wall and "€15.00" in wall


def test_a_free_amount_pledge_takes_the_amount_typed(client, campaign, tiers):
    pledge(client, campaign, tiers["free"], amount="12.50")
    assert Pledge.objects.get().amount == 1250


@pytest.mark.parametrize(
    ("tier", "amount", "extra", "message"),
    [
        ("free", "4.99", {}, "The minimum for"),
        ("album", "1", {}, "choose the free-amount tier"),  # a forged amount
        ("album", "", {"currency": "USD"}, "in EUR only"),
        ("free", "1e9", {}, ""),
    ],
)
def test_bad_pledges_are_refused_and_change_nothing(
    client, campaign, tiers, tier, amount, extra, message
):
    data = {"tier": tiers[tier].pk, "amount": amount, "email": "fan@example.com", "currency": "EUR"}
    response = client.post(campaign.get_absolute_url(), {**data, **extra})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Pledge.objects.exists()


def test_a_full_tier_refuses_the_next_pledge(client, campaign, tiers):
    pledge(client, campaign, tiers["credit"], email="a@example.com")
    pledge(client, campaign, tiers["credit"], email="b@example.com")
    response = pledge(client, campaign, tiers["credit"], email="c@example.com")
    assert response.status_code == 400
    assert "is full" in response.content.decode()
    assert Pledge.objects.filter(status=Pledge.Status.ACTIVE).count() == 2


@pytest.mark.parametrize("state", ["draft", "closed", "settled"])
def test_pledges_on_a_campaign_not_open_are_refused(client, campaign, tiers, state):
    if state == "draft":
        Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.DRAFT)
        assert client.get(campaign.get_absolute_url()).status_code == 404
        return
    if state == "closed":
        Campaign.objects.filter(pk=campaign.pk).update(
            deadline=timezone.now() - timedelta(minutes=1)
        )
    else:
        Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.SUCCEEDED)
    response = pledge(client, campaign, tiers["album"])
    assert response.status_code == 400
    assert not Pledge.objects.exists()


def test_the_backer_changes_then_cancels_the_pledge_through_the_link(client, campaign, tiers):
    pledge(client, campaign, tiers["album"])
    link = pledge_link("fan@example.com")
    other = client.__class__()  # the link alone is enough, in any browser
    response = other.post(
        link, {"action": "change", "tier": tiers["free"].pk, "amount": "20", "currency": "EUR"}
    )
    assert response.status_code == 302
    found = Pledge.objects.get()
    assert (found.tier, found.amount, found.promised) == (tiers["free"], 2000, "The album.")
    too_low = other.post(
        link, {"action": "change", "tier": tiers["free"].pk, "amount": "1", "currency": "EUR"}
    )
    assert too_low.status_code == 400
    assert Pledge.objects.get().amount == 2000
    other.post(link, {"action": "cancel"})
    assert Pledge.objects.get().status == Pledge.Status.CANCELLED


def test_a_full_tier_frees_a_place_when_a_backer_cancels(client, campaign, tiers):
    pledge(client, campaign, tiers["credit"], email="a@example.com")
    pledge(client, campaign, tiers["credit"], email="b@example.com")
    client.post(pledge_link("a@example.com"), {"action": "cancel"})
    response = pledge(client, campaign, tiers["credit"], email="c@example.com")
    assert response.status_code == 302
    assert Pledge.objects.filter(status=Pledge.Status.ACTIVE).count() == 2


def test_editing_a_tier_never_lowers_what_a_backer_was_promised(client, campaign, tiers):
    from shop.funding.services import FundingError, tier_save

    pledge(client, campaign, tiers["credit"], email="a@example.com")
    pledge(client, campaign, tiers["credit"], email="b@example.com")
    tier_save(
        campaign=campaign,
        tier=tiers["credit"],
        title="Credit",
        minimum_text="30",
        free_amount=False,
        cap_text="3",
        rewards="Just the album.",
    )
    assert set(Pledge.objects.values_list("promised", flat=True)) == {
        "The album and your name in the credits."
    }
    with pytest.raises(FundingError, match="2 backers hold places"):
        tier_save(
            campaign=campaign,
            tier=tiers["credit"],
            title="Credit",
            minimum_text="30",
            free_amount=False,
            cap_text="1",
            rewards="Just the album.",
        )


def test_the_test_card_page_is_only_for_the_browser_that_pledged(client, campaign, tiers):
    response = pledge(client, campaign, tiers["album"], card=None)
    assert client.__class__().get(response["Location"]).status_code == 404
    assert client.get(response["Location"]).status_code == 200


def test_a_forged_pledge_link_opens_nothing(client, campaign, tiers):
    response = client.get(reverse("funding:pledge", kwargs={"token": "x" * 43}))
    assert response.status_code == 404
    assert response["Cache-Control"] == "private, no-store"
    assert not mail.outbox


def test_a_backer_only_teaser_is_in_the_library_from_the_pledge_until_a_cancel(
    client, campaign, tiers
):
    from delivery.models import Entitlement
    from tests.factories import ProductFactory, add_file

    teaser = ProductFactory(seller=campaign.seller, title="Studio diary", status="unlisted")
    add_file(teaser, name="diary.pdf")
    Campaign.objects.filter(pk=campaign.pk).update(teaser=teaser)
    pledge(client, campaign, tiers["album"])
    entitlement = Entitlement.objects.get(product=teaser)
    assert entitlement.library.email == "fan@example.com" and entitlement.is_active
    assert "teaser" in entitlement.note
    client.post(pledge_link("fan@example.com"), {"action": "cancel"})
    entitlement.refresh_from_db()
    assert not entitlement.is_active


def test_a_french_backer_is_written_to_in_french_also_by_the_worker(client, campaign, tiers):
    from django.utils import translation
    from django.utils.translation import gettext

    from shop.funding.settlement import edition_note

    french_page = "/fr" + campaign.get_absolute_url()
    response = client.post(
        french_page,
        {"tier": tiers["album"].pk, "amount": "", "email": "lea@example.com", "currency": "EUR"},
    )
    assert response.status_code == 302
    client.post(response["Location"], {"card": "pm_test_pays"})
    found = Pledge.objects.get()
    assert found.language == "fr"
    [message] = emails_to("lea@example.com")
    with translation.override("fr"):
        subject = gettext("Your pledge to “%(title)s”") % {"title": campaign.title}
        edition = gettext("Backer #%(number)d of %(count)d") % {"number": 1, "count": 3}
    assert message.subject == subject != f"Your pledge to “{campaign.title}”"
    assert "/fr/pledges/" in message.body
    # The edition line is written when the card is charged, by the clock, with no request.
    with translation.override("en"):
        assert edition_note(found, 3) == edition != "Backer #1 of 3"
