"""Writes for fan funding: campaigns, tiers, pledges (the card saved, changed, cancelled)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from catalog.accounts import email_normalize
from catalog.l10n import current_language
from catalog.limits import Rate, limit_hit
from catalog.models import Asset, Product, Seller
from catalog.money import AmountError, CountError, format_money, parse_amount, parse_count
from catalog.seller_events import seller_event
from delivery.models import Entitlement
from delivery.services import entitlement_grant, entitlement_revoke
from shop.funding.models import HOLDING, Campaign, CampaignUpdate, Pledge, StretchGoal, Tier
from shop.funding.tasks import send_pledge_link, send_update
from shop.services import FieldError

MAX_DAYS = 60
MAX_SAMPLES = 2
TIER_CAP_MAX = 1_000_000


class FundingError(FieldError):
    """Input a person can fix (a form field, a pledge refused); the message says what."""


def _tz(seller: Seller) -> ZoneInfo:
    try:
        return ZoneInfo(seller.timezone or "UTC")
    except (ValueError, KeyError):
        return ZoneInfo("UTC")


def _date(text: str, field: str, label: str) -> date:
    try:
        return date.fromisoformat((text or "").strip())
    except ValueError:
        raise FundingError(
            _("Enter the %(label)s as a date, like 2027-03-31.") % {"label": label}, field
        ) from None


def _amount(text: str, currency: str, field: str) -> int:
    if not (text or "").strip():
        raise FundingError(_("Enter an amount."), field)
    try:
        return parse_amount(text, currency)
    except AmountError as exc:
        raise FundingError(str(exc), field) from None


def deadline_at(seller: Seller, day: date) -> datetime:
    """A campaign closes at the end of its last day, in the seller's timezone."""
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=_tz(seller))


def campaign_last_day(campaign: Campaign) -> date:
    return timezone.localtime(campaign.deadline, _tz(campaign.seller)).date() - timedelta(days=1)


def campaign_dates_check(
    *, seller: Seller, deadline_text: str, release_text: str
) -> tuple[datetime, date]:
    last_day = _date(deadline_text, "deadline", _("last day"))
    release = _date(release_text, "release_date", _("release date"))
    deadline = deadline_at(seller, last_day)
    now = timezone.now()
    if deadline <= now:
        raise FundingError(_("The last day is in the past: choose a day from today."), "deadline")
    if last_day > timezone.localtime(now, _tz(seller)).date() + timedelta(days=MAX_DAYS):
        raise FundingError(
            _("A campaign runs for at most %(days)d days: choose an earlier last day.")
            % {"days": MAX_DAYS},
            "deadline",
        )
    if release <= last_day:
        raise FundingError(
            _("The release date must come after the campaign's last day."), "release_date"
        )
    return deadline, release


def _samples(product: Product, sample_ids: Sequence[int]) -> list[Asset]:
    ids = set(sample_ids)
    if len(ids) > MAX_SAMPLES:
        raise FundingError(_("Choose one or two sample tracks."), "samples")
    found = list(product.assets.filter(pk__in=ids, role=Asset.Role.PREVIEW))
    if len(found) != len(ids):
        raise FundingError(_("Samples are previews of the campaign's product."), "samples")
    return found


def campaign_save(
    *,
    seller: Seller,
    campaign: Campaign | None,
    product_id: int | None,
    title: str,
    story: str,
    goal_text: str,
    deadline_text: str,
    release_text: str,
    sample_ids: Sequence[int] = (),
    teaser_id: int | None = None,
) -> Campaign:
    """Create a draft campaign or edit one; once live, the goal and the deadline stay."""
    title = (title or "").strip()
    if not title or len(title) > 200:
        raise FundingError(_("Give the campaign a title (at most 200 characters)."), "title")
    if campaign is None:
        product = Product.objects.filter(seller=seller, pk=product_id or 0).first()
        if product is None:
            raise FundingError(_("Choose one of your products for the release."), "product")
        if Campaign.objects.filter(product=product).exists():
            raise FundingError(_("This product already has a campaign."), "product")
    else:
        product = campaign.product
    draft = campaign is None or campaign.status == Campaign.Status.DRAFT
    currency = product.currency
    if draft:
        goal = _amount(goal_text, currency, "goal")
        if goal <= 0:
            raise FundingError(_("The goal must be more than zero."), "goal")
        deadline, release = campaign_dates_check(
            seller=seller, deadline_text=deadline_text, release_text=release_text
        )
    else:
        assert campaign is not None
        goal, deadline = campaign.goal, campaign.deadline
        release = _date(release_text, "release_date", _("release date"))
        if release <= campaign_last_day(campaign):
            raise FundingError(
                _("The release date must come after the campaign's last day."), "release_date"
            )
    samples = _samples(product, sample_ids)
    teaser = None
    if teaser_id:
        teaser = Product.objects.filter(seller=seller, pk=teaser_id).exclude(pk=product.pk).first()
        if teaser is None:
            raise FundingError(_("The teaser is one of your other products."), "teaser")
    with transaction.atomic():
        if campaign is None:
            campaign = Campaign(seller=seller, product=product, currency=currency)
        campaign.title, campaign.story = title, story or ""
        campaign.goal, campaign.deadline, campaign.release_date = goal, deadline, release
        campaign.teaser = teaser
        campaign.save()
        campaign.samples.set(samples)
    return campaign


def tier_save(
    *,
    campaign: Campaign,
    tier: Tier | None,
    title: str,
    minimum_text: str,
    free_amount: bool,
    cap_text: str,
    rewards: str,
) -> Tier:
    """Add or edit a tier. Pledges keep what they were promised (``Pledge.promised``) and
    their amount (``Pledge.amount``), whatever the new words and price; a tier with
    backers cannot have fewer places than it has backers."""
    title, rewards = (title or "").strip(), (rewards or "").strip()
    if not title or len(title) > 120:
        raise FundingError(_("Give the tier a name (at most 120 characters)."), "title")
    if not rewards:
        raise FundingError(_("Say in words what backers of this tier get."), "rewards")
    minimum = _amount(minimum_text, campaign.currency, "minimum")
    if minimum <= 0:
        raise FundingError(_("A tier's amount must be more than zero."), "minimum")
    cap = None
    if (cap_text or "").strip():
        try:
            cap = parse_count(cap_text, maximum=TIER_CAP_MAX, minimum=1, unit=_("places"))
        except CountError as exc:
            raise FundingError(str(exc), "cap") from None
    with transaction.atomic():
        Campaign.objects.select_for_update().get(pk=campaign.pk)
        if campaign.status not in (Campaign.Status.DRAFT, Campaign.Status.LIVE):
            raise FundingError(_("This campaign is closed: its tiers no longer change."))
        if tier is not None:
            taken = tier.pledges.filter(status__in=HOLDING).count()
            if cap is not None and cap < taken:
                raise FundingError(
                    _("%(taken)d backers hold places in this tier: allow at least that many.")
                    % {"taken": taken},
                    "cap",
                )
        else:
            tier = Tier(campaign=campaign, position=campaign.tiers.count())
        tier.title, tier.rewards, tier.minimum = title, rewards, minimum
        tier.free_amount, tier.cap = bool(free_amount), cap
        tier.save()
    return tier


def tier_delete(*, tier: Tier) -> None:
    with transaction.atomic():
        if tier.pledges.exists():
            raise FundingError(_("Backers chose this tier: it can be edited, not removed."))
        tier.delete()


def campaign_launch(*, campaign: Campaign) -> Campaign:
    """Open a draft to pledges; the same checks as the form, once more."""
    problems = []
    if not campaign.tiers.exists():
        problems.append(_("add at least one tier"))
    if not 1 <= campaign.samples.count() <= MAX_SAMPLES:
        problems.append(_("choose one or two sample tracks (previews of the product)"))
    if campaign.deadline <= timezone.now():
        problems.append(_("choose a last day from today"))
    if not campaign.seller.email_verified_at:
        problems.append(_("confirm your email address"))
    if problems:
        raise FundingError(_("Before launching: %(steps)s.") % {"steps": "; ".join(problems)})
    Campaign.objects.filter(pk=campaign.pk, status=Campaign.Status.DRAFT).update(
        status=Campaign.Status.LIVE
    )
    campaign.refresh_from_db()
    return campaign


# --- Pledges ----------------------------------------------------------------------------


def _open_check(campaign: Campaign) -> None:
    if campaign.status == Campaign.Status.DRAFT:
        raise FundingError(_("This campaign has not started yet."))
    if campaign.status != Campaign.Status.LIVE or campaign.deadline <= timezone.now():
        raise FundingError(_("This campaign has closed: pledges can no longer be made or changed."))


def _price(tier: Tier, *, amount_text: str, currency: str) -> int:
    """The pledge's amount, decided here: a fixed tier's own, or at least a free tier's minimum."""
    campaign = tier.campaign
    if (currency or campaign.currency).upper() != campaign.currency:
        raise FundingError(
            _("This campaign takes pledges in %(currency)s only.")
            % {"currency": campaign.currency},
            "amount",
        )
    if not tier.free_amount:
        if (amount_text or "").strip():
            typed = _amount(amount_text, campaign.currency, "amount")
            if typed != tier.minimum:
                raise FundingError(
                    _("“%(tier)s” is %(amount)s; choose the free-amount tier to give more.")
                    % {
                        "tier": tier.title,
                        "amount": format_money(tier.minimum, tier.campaign.currency),
                    },
                    "amount",
                )
        return tier.minimum
    amount = _amount(amount_text, campaign.currency, "amount")
    if amount < tier.minimum:
        raise FundingError(
            _("The minimum for “%(tier)s” is %(amount)s.")
            % {"tier": tier.title, "amount": format_money(tier.minimum, campaign.currency)},
            "amount",
        )
    return amount


def _place_check(tier: Tier, *, besides: Pledge | None = None) -> None:
    if tier.cap is None:
        return
    taken = tier.pledges.filter(status__in=HOLDING)
    if besides is not None:
        taken = taken.exclude(pk=besides.pk)
    if taken.count() >= tier.cap:
        raise FundingError(
            _("“%(tier)s” is full: choose another tier.") % {"tier": tier.title}, "tier"
        )


def _tier_of(campaign: Campaign, tier_id: object) -> Tier:
    try:
        tier = campaign.tiers.filter(pk=int(str(tier_id))).first()
    except ValueError:
        tier = None
    if tier is None:
        raise FundingError(_("Choose a tier."), "tier")
    tier.campaign = campaign
    return tier


def pledge_start(
    *,
    campaign_id: int,
    tier_id: object,
    amount_text: str,
    currency: str,
    email: str,
    wall_name: str,
    provider: str,
) -> Pledge:
    """A pending pledge; it counts once its card is saved (``pledge_card_saved``)."""
    email = email_normalize(email or "")
    try:
        validate_email(email)
    except ValidationError:
        raise FundingError(
            _("Enter a valid email address, like name@example.com."), "email"
        ) from None
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
        _open_check(campaign)
        tier = _tier_of(campaign, tier_id)
        amount = _price(tier, amount_text=amount_text, currency=currency)
        _place_check(tier)
        return Pledge.objects.create(
            campaign=campaign,
            tier=tier,
            email=email,
            amount=amount,
            currency=campaign.currency,
            promised=tier.rewards,
            wall_name=(wall_name or "").strip()[:80],
            provider=provider,
            language=current_language(),
        )


def pledge_card_saved(*, pledge_id: int, customer: str, payment_method: str) -> Pledge:
    """The card is saved: the pledge counts (numbered, teaser granted); or its card is replaced."""
    with transaction.atomic():
        # The campaign first, then the pledge: every writer locks in that order.
        campaign_id = Pledge.objects.values_list("campaign_id", flat=True).get(pk=pledge_id)
        campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
        pledge = Pledge.objects.select_for_update().get(pk=pledge_id)
        if pledge.status == Pledge.Status.ACTIVE:
            pledge.customer_id = customer or pledge.customer_id
            pledge.payment_method_id = payment_method
            pledge.save(update_fields=["customer_id", "payment_method_id", "updated_at"])
            return pledge
        if pledge.status != Pledge.Status.PENDING:
            return pledge
        _open_check(campaign)
        tier = pledge.tier
        tier.campaign = campaign
        _place_check(tier, besides=pledge)
        last = campaign.pledges.aggregate(n=Max("number"))["n"] or 0
        pledge.number = last + 1
        pledge.status = Pledge.Status.ACTIVE
        pledge.customer_id = customer
        pledge.payment_method_id = payment_method
        if campaign.teaser_id and not pledge.teaser_granted:
            entitlement_grant(
                email=pledge.email,
                product=campaign.teaser,  # type: ignore[arg-type]
                note=_("Backer-only teaser of “%(title)s”") % {"title": campaign.title},
            )
            pledge.teaser_granted = True
        pledge.save()
        transaction.on_commit(lambda: send_pledge_link.enqueue(pledge_id=pledge.pk, why="saved"))
        seller_event(
            type="pledge.created",
            seller_id=campaign.seller_id,
            key=f"pledge:{pledge.pk}",
            pledge_id=pledge.pk,
        )
    return pledge


def pledge_change(*, pledge: Pledge, tier_id: object, amount_text: str, currency: str) -> Pledge:
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=pledge.campaign_id)
        pledge = Pledge.objects.select_for_update().get(pk=pledge.pk)
        _open_check(campaign)
        if pledge.status != Pledge.Status.ACTIVE:
            raise FundingError(_("This pledge can no longer be changed."))
        tier = _tier_of(campaign, tier_id)
        amount = _price(tier, amount_text=amount_text, currency=currency)
        if tier.pk != pledge.tier_id:
            _place_check(tier, besides=pledge)
            pledge.promised = tier.rewards
        pledge.tier, pledge.amount = tier, amount
        pledge.save(update_fields=["tier", "amount", "promised", "updated_at"])
    return pledge


def teaser_revoke(pledge: Pledge, reason: str) -> None:
    campaign = pledge.campaign
    if not (pledge.teaser_granted and campaign.teaser_id):
        return
    for entitlement in Entitlement.objects.filter(
        library__email__iexact=pledge.email, product_id=campaign.teaser_id, order_item=None
    ):
        entitlement_revoke(entitlement=entitlement, reason=reason)


def pledge_cancel(*, pledge: Pledge) -> Pledge:
    """The backer changed their mind: nothing will be charged and the place is free."""
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=pledge.campaign_id)
        pledge = Pledge.objects.select_for_update().get(pk=pledge.pk)
        if pledge.status == Pledge.Status.CANCELLED:
            return pledge
        _open_check(campaign)
        if pledge.status not in (Pledge.Status.ACTIVE, Pledge.Status.PENDING):
            raise FundingError(_("This pledge can no longer be cancelled."))
        pledge.status = Pledge.Status.CANCELLED
        pledge.save(update_fields=["status", "updated_at"])
        teaser_revoke(pledge, gettext_noop("The pledge was cancelled."))
    return pledge


def stretch_goal_add(*, campaign: Campaign, amount_text: str, description: str) -> StretchGoal:
    description = (description or "").strip()
    amount = _amount(amount_text, campaign.currency, "amount")
    if amount <= campaign.goal:
        raise FundingError(_("A stretch goal is above the goal."), "amount")
    if not description or len(description) > 300:
        raise FundingError(
            _("Say what the stretch goal adds (at most 300 characters)."), "description"
        )
    return StretchGoal.objects.create(campaign=campaign, amount=amount, description=description)


# --- Updates ----------------------------------------------------------------------------


def campaign_update_post(*, campaign: Campaign, subject: str, body: str) -> CampaignUpdate:
    """News for every backer, mailed by a task (one mail per backer, each retried alone)."""
    subject, body = (subject or "").strip(), (body or "").strip()
    if not subject or len(subject) > 150:
        raise FundingError(_("Give the update a subject (at most 150 characters)."), "subject")
    if not body:
        raise FundingError(_("Write the update."), "body")
    limit_hit(
        scope="funding-update",
        subject=str(campaign.pk),
        rate=Rate.of(settings.LIMIT_FUNDING_UPDATES),
        message=_("Backers already got several updates today."),
    )
    with transaction.atomic():
        update = CampaignUpdate.objects.create(campaign=campaign, subject=subject, body=body)
        transaction.on_commit(lambda: send_update.enqueue(update_id=update.pk))
    return update
