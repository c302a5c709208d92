"""Reads for fan funding: the figures a campaign page, the seller's list and the dashboard show."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db.models import Count, Prefetch, Q, QuerySet, Sum
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.models import Asset, Seller
from catalog.money import to_decimal_string
from delivery.samples import LibrarySamples
from shop.funding.models import HOLDING, Campaign, Pledge, Tier


@dataclass
class TierFigures:
    tier: Tier
    backers: int
    places_left: int | None

    @property
    def minimum_text(self) -> str:
        return to_decimal_string(self.tier.minimum, self.tier.campaign.currency)


@dataclass
class Figures:
    pledged: int
    backers: int
    percent: int
    days_left: int
    collected: int
    collected_count: int
    recovering: int
    recovering_count: int
    failed: int
    failed_count: int
    tiers: list[TierFigures] = field(default_factory=list)

    @property
    def percent_bar(self) -> int:
        return min(self.percent, 100)


def _sum(status: object) -> tuple[Sum, Count]:
    condition = Q(status__in=status) if isinstance(status, tuple) else Q(status=status)
    return Sum("amount", filter=condition, default=0), Count("pk", filter=condition)


def campaign_figures(campaign: Campaign) -> Figures:
    pledged, backers = _sum(HOLDING)
    collected, collected_n = _sum(Pledge.Status.CHARGED)
    recovering, recovering_n = _sum(Pledge.Status.RECOVERING)
    failed, failed_n = _sum(Pledge.Status.DROPPED)
    row = Pledge.objects.filter(campaign=campaign).aggregate(
        pledged=pledged,
        backers=backers,
        collected=collected,
        collected_n=collected_n,
        recovering=recovering,
        recovering_n=recovering_n,
        failed=failed,
        failed_n=failed_n,
    )
    seconds = (campaign.deadline - timezone.now()).total_seconds()
    tiers = []
    for tier in campaign.tiers.annotate(
        held=Count("pledges", filter=Q(pledges__status__in=HOLDING))
    ).order_by("position", "minimum", "pk"):
        tier.campaign = campaign
        held = tier.held  # type: ignore[attr-defined]
        left = None if tier.cap is None else max(tier.cap - held, 0)
        tiers.append(TierFigures(tier=tier, backers=held, places_left=left))
    return Figures(
        pledged=row["pledged"],
        backers=row["backers"],
        percent=row["pledged"] * 100 // campaign.goal if campaign.goal else 0,
        days_left=max(math.ceil(seconds / 86400), 0),
        collected=row["collected"],
        collected_count=row["collected_n"],
        recovering=row["recovering"],
        recovering_count=row["recovering_n"],
        failed=row["failed"],
        failed_count=row["failed_n"],
        tiers=tiers,
    )


def seller_campaigns(seller: Seller) -> QuerySet[Campaign]:
    return Campaign.objects.filter(seller=seller).select_related("product")


def campaigns_with_figures(seller: Seller) -> list[tuple[Campaign, Figures]]:
    return [(c, campaign_figures(c)) for c in seller_campaigns(seller)]


def campaign_samples(campaign: Campaign) -> list[Asset]:
    return list(campaign.samples.filter(role=Asset.Role.PREVIEW).order_by("position", "pk"))


def backers_wall(campaign: Campaign) -> list[str]:
    """Names of backers who chose to be shown, in the order they backed."""
    return list(
        campaign.pledges.filter(status__in=HOLDING)
        .exclude(wall_name="")
        .order_by("number")
        .values_list("wall_name", flat=True)[:500]
    )


def public_campaigns() -> QuerySet[Campaign]:
    return Campaign.objects.exclude(status=Campaign.Status.DRAFT).select_related(
        "seller", "product"
    )


@dataclass
class CampaignSummary:
    """A campaign's figures for the sales dashboard, read with the others in one query."""

    pk: int
    title: str
    status: str
    currency: str
    goal: int
    pledged: int = 0
    backers: int = 0
    collected: int = 0
    recovering: int = 0
    failed: int = 0
    tiers: dict[str, int] = field(default_factory=dict)

    @property
    def percent(self) -> int:
        return self.pledged * 100 // self.goal if self.goal else 0

    @property
    def status_label(self) -> str:
        return str(Campaign.Status(self.status).label)


def seller_campaign_summaries(seller: Seller) -> list[CampaignSummary]:
    """Every campaign of the seller that has pledges, from one grouped query."""
    rows = (
        Pledge.objects.filter(campaign__seller=seller)
        .values(
            "campaign_id",
            "campaign__title",
            "campaign__status",
            "campaign__currency",
            "campaign__goal",
            "tier__title",
            "status",
        )
        .annotate(total=Sum("amount"), count=Count("pk"))
        .order_by("-campaign_id", "tier__title")
    )
    found: dict[int, CampaignSummary] = {}
    for row in rows:
        summary = found.setdefault(
            row["campaign_id"],
            CampaignSummary(
                pk=row["campaign_id"],
                title=row["campaign__title"],
                status=row["campaign__status"],
                currency=row["campaign__currency"],
                goal=row["campaign__goal"],
            ),
        )
        status, total, count = row["status"], row["total"] or 0, row["count"]
        if status in HOLDING:
            summary.pledged += total
            summary.backers += count
            summary.tiers[row["tier__title"]] = summary.tiers.get(row["tier__title"], 0) + count
        if status == Pledge.Status.CHARGED:
            summary.collected += total
        elif status == Pledge.Status.RECOVERING:
            summary.recovering += total
        elif status == Pledge.Status.DROPPED:
            summary.failed += total
    return list(found.values())


# Pledges whose backer hears the campaign's samples in their library: from the card saved
# on, charged or not funded alike; a cancelled or dropped (unpaid) pledge loses them.
SAMPLES_KEPT = (*HOLDING, Pledge.Status.RELEASED)


def backer_samples(emails: Sequence[str]) -> list[LibrarySamples]:
    """The sample tracks of every campaign these addresses back (a library's source)."""
    wanted = [email.lower() for email in emails]
    pledges = (
        Pledge.objects.annotate(email_lower=Lower("email"))
        .filter(email_lower__in=wanted, status__in=SAMPLES_KEPT)
        .select_related("campaign__seller")
        .prefetch_related(
            Prefetch(
                "campaign__samples",
                queryset=Asset.objects.filter(role=Asset.Role.PREVIEW).order_by("position", "pk"),
                to_attr="sample_list",
            )
        )
        .order_by("-created_at")
    )
    found, seen = [], set()
    for pledge in pledges:
        campaign = pledge.campaign
        assets = campaign.sample_list  # type: ignore[attr-defined]
        if campaign.pk in seen or not assets:
            continue
        seen.add(campaign.pk)
        found.append(
            LibrarySamples(
                title=campaign.title,
                seller=campaign.seller.display_name,
                note=_("Backer #%(number)d") % {"number": pledge.number or 0},
                url=campaign.get_absolute_url(),
                assets=assets,
            )
        )
    return found
