"""Fan funding in a real browser, test mode: pledge, change, cancel, settle (a card that pays,
one whose bank asks for authentication, one declined), pay on session, release, download;
and a campaign that misses its goal charges nobody."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import expect

from catalog.models import Asset, Product
from shop.funding.models import Campaign, Pledge, Tier
from shop.funding.settlement import funding_settle
from shop.models import Order
from tests.factories import ProductFactory, add_file, demo_media

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _campaign(title: str, goal: int, seller=None) -> Campaign:
    extra = {"seller": seller} if seller else {}
    record = ProductFactory(
        title=title, kind=Product.Kind.MUSIC, status=Product.Status.DRAFT, **extra
    )
    add_file(record, demo_media("album-01-departure.mp3"), "sample.mp3", role=Asset.Role.PREVIEW)
    campaign = Campaign.objects.create(
        seller=record.seller,
        product=record,
        title=title,
        story="Eight songs, **one** studio.",
        goal=goal,
        currency="EUR",
        deadline=timezone.now() + timedelta(days=12),
        release_date=(timezone.now() + timedelta(days=40)).date(),
        status=Campaign.Status.LIVE,
    )
    campaign.samples.set(record.assets.all())
    Tier.objects.create(campaign=campaign, title="The album", minimum=1500, rewards="The album.")
    Tier.objects.create(
        campaign=campaign,
        title="Pay what you want",
        minimum=500,
        free_amount=True,
        rewards="The album, at your price.",
    )
    return campaign


def _pledge(page, url: str, email: str, card: str, *, tier: str = "The album", amount: str = ""):
    page.goto(url)
    page.get_by_role("radio", name=re.compile(f"^{tier}")).check()
    if amount:
        page.get_by_label("Amount (EUR), for a free-amount tier").fill(amount)
    page.get_by_label("Your email").fill(email)
    page.get_by_role("button", name="Pledge: save my card").click()
    page.wait_for_url(re.compile("/campaigns/card/test/"))
    page.get_by_role("button", name=card).click()
    page.wait_for_url(re.compile("/pledges/"))


def _link(email: str, pattern: str) -> str:
    """The path of the last link matching ``pattern`` mailed to ``email`` (mails name SITE_URL)."""
    bodies = [m.body for m in mail.outbox if email in m.to]
    found = [re.search(pattern, body) for body in bodies]
    return [m.group(0) for m in found if m][-1]


def test_the_whole_funding_story_in_the_browser(page, live_server, shot):
    campaign = _campaign("Low Tide", goal=4000)
    url = live_server.url + campaign.get_absolute_url()
    page.goto(url)
    assert page.locator("audio").count() == 1
    expect(page.get_by_text("Cards are saved, not charged")).to_be_visible()
    shot("funding-campaign")

    _pledge(page, url, "pays@example.com", "Save a card that pays")
    expect(page.get_by_text("Backer #1 of 1")).to_be_visible()
    shot("funding-pledge")
    # Change: to the free-amount tier, €20.
    page.get_by_label("Tier", exact=True).select_option(label="Pay what you want — from €5.00")
    page.get_by_label("Amount (EUR), for a free-amount tier").fill("20")
    page.get_by_role("button", name="Save the change").click()
    expect(page.get_by_text("Your pledge is changed.")).to_be_visible()
    assert Pledge.objects.get(email="pays@example.com").amount == 2000
    # From the pledge on, the sample plays in the backer's library.
    from delivery.services import library_get_or_create, library_link_create

    token = library_link_create(library=library_get_or_create(email="pays@example.com"))
    page.goto(f"{live_server.url}/library/{token}/")
    sample = page.get_by_label("Play the sample sample.mp3")
    expect(sample).to_be_visible()
    sample.evaluate("audio => { audio.preload = 'auto'; audio.load(); }")
    page.wait_for_function(
        "() => document.querySelector('audio[aria-label^=\"Play the sample\"]').readyState >= 1"
    )
    assert sample.evaluate("audio => audio.duration") > 1
    shot("funding-library-sample")

    _pledge(page, url, "auth@example.com", "Save a card whose bank asks for authentication")
    _pledge(page, url, "declines@example.com", "Save a card that will be declined")
    _pledge(page, url, "changes-mind@example.com", "Save a card that pays")
    page.get_by_role("button", name="Cancel my pledge").click()
    expect(page.get_by_text("Your pledge is cancelled")).to_be_visible()
    assert Pledge.objects.get(email="changes-mind@example.com").status == Pledge.Status.CANCELLED

    # The deadline passes: the clock settles (20 + 15 + 15 ≥ 40).
    Campaign.objects.filter(pk=campaign.pk).update(deadline=timezone.now() - timedelta(seconds=1))
    report = funding_settle()
    assert (report.charged, report.recovering) == (1, 2)
    # After the deadline the pledge's tier and amount no longer change.
    page.goto(live_server.url + _link("pays@example.com", r"/pledges/\S+/"))
    assert page.get_by_role("button", name="Save the change").count() == 0

    # The backer whose bank wants authentication pays on session from the emailed link.
    page.goto(live_server.url + _link("auth@example.com", r"/pledges/\S+/"))
    shot("funding-payment-needed")
    page.get_by_role("button", name="Pay €15.00 now").click()
    page.wait_for_url(re.compile("/pay/test/"))
    page.get_by_role("button", name="Pay €15.00").click()
    page.wait_for_url(re.compile("/orders/"))
    funding_settle()
    assert Pledge.objects.get(email="auth@example.com").status == Pledge.Status.CHARGED
    assert Pledge.objects.get(email="declines@example.com").status == Pledge.Status.RECOVERING

    # Release: the files are uploaded and the product published; the clock delivers.
    content = demo_media("album-02-tunnel.mp3")
    add_file(campaign.product, content, "02 tunnel.mp3")
    Product.objects.filter(pk=campaign.product_id).update(status=Product.Status.PUBLISHED)
    assert funding_settle().delivered == 2
    page.goto(live_server.url + _link("pays@example.com", r"/library/\S+/"))
    expect(page.get_by_text("Backer #1 of 3")).to_be_visible()
    shot("funding-library")
    with page.expect_download() as info:
        page.get_by_role("link", name="Download 02 tunnel.mp3").click()
    with open(info.value.path(), "rb") as downloaded:
        assert downloaded.read() == content


def test_a_campaign_that_misses_its_goal_charges_nobody(page, live_server):
    campaign = _campaign("Winter Tapes", goal=100_000)
    url = live_server.url + campaign.get_absolute_url()
    _pledge(page, url, "hopeful@example.com", "Save a card that pays")
    Campaign.objects.filter(pk=campaign.pk).update(deadline=timezone.now() - timedelta(seconds=1))
    funding_settle()
    assert not Order.objects.exists()
    assert Campaign.objects.get().status == Campaign.Status.FAILED
    page.goto(live_server.url + _link("hopeful@example.com", r"/pledges/\S+/"))
    expect(page.get_by_text("The goal was not met: nothing was charged.")).to_be_visible()
    assert any("nothing was charged" in m.subject for m in mail.outbox)


def test_the_seller_sees_the_campaigns_figures(page, live_server, shot):
    campaign = _campaign("Slow Rivers", goal=4000)
    url = live_server.url + campaign.get_absolute_url()
    _pledge(page, url, "one@example.com", "Save a card that pays")
    page.goto(live_server.url + "/accounts/login/")
    page.get_by_label("Email or username").fill(campaign.seller.user.email)
    page.get_by_label("Password").fill("pass-word-123")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile("/library|/sell|/$"))
    page.goto(live_server.url + "/sell/campaigns/")
    expect(page.get_by_role("link", name="Slow Rivers")).to_be_visible()
    expect(page.get_by_text("The album: 1")).to_be_visible()
    shot("funding-seller-list")
    page.get_by_role("link", name="Slow Rivers").click()
    expect(page.get_by_role("cell", name="one@example.com")).to_be_visible()
    shot("funding-seller-campaign")
