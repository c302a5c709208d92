"""The demo's fan-funded releases: one live, one funded and released, one that missed its goal.

Made through the funding services and the settle run, with the test-mode cards;
the two closed campaigns are dated in the past afterwards, as the sales history is.
Running it again changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from django.core.files import File
from django.utils import timezone

from catalog.models import Asset, Product, Seller
from catalog.services.assets import asset_create
from catalog.services.images import image_store
from shop.demo.covers import make_cover
from shop.funding.models import Campaign
from shop.funding.services import (
    campaign_launch,
    campaign_save,
    pledge_card_saved,
    pledge_start,
    tier_save,
)
from shop.funding.settlement import campaign_release, campaign_settle

MEDIA_DIR = Path(__file__).resolve().parent / "media"
SELLER = "les-ondes-douces"


@dataclass(frozen=True)
class DemoCampaign:
    slug: str
    title: str
    sample: str
    goal: str
    outcome: str  # live, released, failed
    backers: tuple[tuple[str, int, str], ...]  # (email, tier index, test card)
    colors: tuple[str, str] = ("#283c86", "#45a247")
    release_file: str = ""


CAMPAIGNS = [
    DemoCampaign(
        "slow-rivers",
        "Slow Rivers — the second album",
        "album-03-the-long-curve.mp3",
        "600",
        "live",
        (
            ("ana@example.com", 0, "pm_test_pays"),
            ("bo@example.com", 1, "pm_test_pays"),
            ("chen@example.com", 0, "pm_test_needs_authentication"),
            ("dee@example.com", 2, "pm_test_pays"),
        ),
    ),
    DemoCampaign(
        "harbour-lights",
        "Harbour Lights — an EP",
        "album-04-arrival.mp3",
        "30",
        "released",
        (
            ("buyer@example.com", 1, "pm_test_pays"),
            ("eli@example.com", 0, "pm_test_pays"),
            ("fay@example.com", 0, "pm_test_declines"),
        ),
        colors=("#0f2027", "#2c5364"),
        release_file="album-02-tunnel.mp3",
    ),
    DemoCampaign(
        "winter-tapes",
        "Winter Tapes",
        "album-01-departure.mp3",
        "2000",
        "failed",
        (("gus@example.com", 0, "pm_test_pays"), ("buyer@example.com", 1, "pm_test_pays")),
    ),
]

TIERS = (
    ("The record", "8", False, "", "The record, in your library on release day."),
    ("Credit line", "20", False, "25", "The record and your name in the sleeve notes."),
    ("Pay what you want", "5", True, "", "The record; give what it is worth to you."),
)


def _store(product: Product, name: str, role: str) -> None:
    with (MEDIA_DIR / name).open("rb") as handle:
        asset_create(
            product=product, file=File(handle, name=name), original_filename=name, role=role
        )


def _campaign(seller: Seller, demo: DemoCampaign) -> Campaign | None:
    if Product.objects.filter(seller=seller, slug=demo.slug).exists():
        return None
    product = Product.objects.create(
        seller=seller,
        slug=demo.slug,
        title=demo.title,
        kind=Product.Kind.MUSIC,
        price=800,
        currency=seller.currency,
        status=Product.Status.DRAFT,
        description="Backed by fans before it exists.",
    )
    image_store(
        field=product.cover, source=make_cover(demo.title, seller.display_name, demo.colors)
    )
    product.save(update_fields=["cover"])
    _store(product, demo.sample, Asset.Role.PREVIEW)
    today = timezone.localdate()
    campaign = campaign_save(
        seller=seller,
        campaign=None,
        product_id=product.pk,
        title=demo.title,
        story=(
            "Eight songs written on night trains, to be recorded **this winter** in a "
            "small studio in Nantes.\n\nEvery euro goes to the studio days and the mastering."
        ),
        goal_text=demo.goal,
        deadline_text=(today + timedelta(days=20)).isoformat(),
        release_text=(today + timedelta(days=50)).isoformat(),
        sample_ids=list(product.assets.values_list("pk", flat=True)),
    )
    tiers = [
        tier_save(
            campaign=campaign,
            tier=None,
            title=title,
            minimum_text=minimum,
            free_amount=free,
            cap_text=cap,
            rewards=rewards,
        )
        for title, minimum, free, cap, rewards in TIERS
    ]
    campaign = campaign_launch(campaign=campaign)
    for index, (email, tier, card) in enumerate(demo.backers):
        pledge = pledge_start(
            campaign_id=campaign.pk,
            tier_id=tiers[tier].pk,
            amount_text="12" if TIERS[tier][2] else "",
            currency=campaign.currency,
            email=email,
            wall_name=email.split("@")[0].title() if index % 2 == 0 else "",
            provider="test",
        )
        pledge_card_saved(pledge_id=pledge.pk, customer="cus_test", payment_method=card)
    if demo.outcome == "live":
        return campaign
    Campaign.objects.filter(pk=campaign.pk).update(deadline=timezone.now() - timedelta(days=3))
    campaign_settle(campaign_id=campaign.pk)
    if demo.outcome == "released":
        _store(product, demo.release_file, Asset.Role.DELIVERABLE)
        Product.objects.filter(pk=product.pk).update(status=Product.Status.PUBLISHED)
        campaign_release(campaign_id=campaign.pk)
    return campaign


def demo_campaigns() -> list[Campaign]:
    """The three campaigns, made if missing; returns them all."""
    seller = Seller.objects.get(slug=SELLER)
    for demo in CAMPAIGNS:
        _campaign(seller, demo)
    return list(
        Campaign.objects.filter(product__slug__in=[d.slug for d in CAMPAIGNS], seller=seller)
        .select_related("product")
        .order_by("pk")
    )
