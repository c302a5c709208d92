"""Closing campaigns: all or nothing, exactly once, resumable.

A campaign past its deadline is *claimed* by one conditional ``UPDATE`` (live →
closing, with a lease): two clocks racing for it both run the statement, one
changes a row. Whether the goal was met is decided once, at the claim, and
stored. Then pledges are charged in batches, each one claimed the same way
(card saved → being charged) and charged off session with the idempotency key
``pledge-charge-<pledge>``, with no transaction open. A crash after Stripe
charged but before the answer was stored leaves the pledge "being charged";
the next run (the lease has lapsed) asks Stripe again with the same key and
gets the same PaymentIntent back, never a second charge. Stripe keeps keys
for 24 hours; the clock runs every few minutes, and a pledge still unanswered
after 23 hours is left to a person (its order flagged) rather than charged again.

A pledge Stripe declines, or whose bank asks for authentication, waits
``FUNDING_GRACE_DAYS`` for an on-session payment, then is dropped and its
place freed. A missed goal charges nobody and mails each backer once.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from catalog.l10n import language_or_default
from catalog.models import Asset, Product
from catalog.seller_events import seller_event
from shop.funding.models import HOLDING, Campaign, Pledge
from shop.funding.payments import cards_for
from shop.funding.services import teaser_revoke
from shop.models import Order
from shop.payments import stripe_api
from shop.payments.stripe_api import OffSessionCharge
from shop.services import (
    OrderStateError,
    order_create_priced,
    order_expire,
    order_flag,
    order_fulfil,
    order_items_release,
)

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=10)
# Stripe keeps an idempotency key for 24 hours; a charge retried later is not retried blindly.
KEY_LIFETIME = timedelta(hours=23)
BATCH = 200


@dataclass
class Report:
    campaigns: list[str] = field(default_factory=list)
    charged: int = 0
    recovering: int = 0
    released_unfunded: int = 0
    dropped: int = 0
    delivered: int = 0


def campaign_claim(*, campaign_id: int) -> bool:
    """Take the campaign for this run; False when another clock has it or it is settled."""
    now = timezone.now()
    with transaction.atomic():
        taken = (
            Campaign.objects.filter(pk=campaign_id)
            .filter(
                Q(status=Campaign.Status.LIVE, deadline__lte=now)
                | Q(status=Campaign.Status.SETTLING, lease_until__lt=now)
            )
            .update(status=Campaign.Status.SETTLING, lease_until=now + LEASE)
        )
        if not taken:
            return False
        pledged = (
            Pledge.objects.filter(campaign_id=campaign_id, status__in=HOLDING).aggregate(
                s=Sum("amount")
            )["s"]
            or 0
        )
        campaign = Campaign.objects.get(pk=campaign_id)
        Campaign.objects.filter(pk=campaign_id, goal_met__isnull=True).update(
            goal_met=pledged >= campaign.goal
        )
    return True


def _lease_renew(campaign_id: int) -> None:
    Campaign.objects.filter(pk=campaign_id, status=Campaign.Status.SETTLING).update(
        lease_until=timezone.now() + LEASE
    )


def edition_note(pledge: Pledge, backers: int) -> str:
    """The line on the receipt and in the library, in the backer's own language."""
    with translation.override(language_or_default(pledge.language)):
        return _("Backer #%(number)d of %(count)d") % {
            "number": pledge.number or 0,
            "count": backers,
        }


def _charge_key(pledge: Pledge) -> str:
    return f"pledge-charge-{pledge.public_id}"


def pledge_charge(*, pledge_id: int, backers: int) -> str:
    """Charge one pledge off session (at most once, whatever crashes); returns its new status."""
    with transaction.atomic():
        pledge = (
            Pledge.objects.select_for_update(of=("self",))
            .select_related("campaign__product")
            .get(pk=pledge_id)
        )
        if pledge.status not in (Pledge.Status.ACTIVE, Pledge.Status.CHARGING):
            return pledge.status
        stale = timezone.now() - KEY_LIFETIME
        if pledge.status == Pledge.Status.CHARGING and pledge.updated_at < stale:
            # Stripe may have forgotten the key: charging again could charge twice.
            if pledge.order is not None and not pledge.order.flagged:
                order_flag(
                    order_id=pledge.order.pk,
                    reason="A pledge's charge got no answer for a day: check Stripe for "
                    f"metadata pledge={pledge.public_id} before charging it by hand.",
                )
            return pledge.status
        if pledge.order is None:
            pledge.order = order_create_priced(
                product=pledge.campaign.product,
                amount=pledge.amount,
                currency=pledge.currency,
                email=pledge.email,
                checkout_key=f"pledge-{pledge.public_id.hex}",
                provider=pledge.provider,
                note=edition_note(pledge, backers),
                release_held=True,
                language=pledge.language,
            )
        pledge.status = Pledge.Status.CHARGING
        pledge.save(update_fields=["order", "status", "updated_at"])
    try:
        result = cards_for(pledge.provider).charge(
            pledge=pledge, idempotency_key=_charge_key(pledge)
        )
    except stripe_api.PaymentProviderError as exc:
        # Not an answer about the card (Stripe unreachable): the next run asks again, same key.
        log.warning("Pledge %s not charged yet: %s", pledge.public_id, exc)
        return Pledge.Status.CHARGING
    return pledge_charge_apply(pledge_id=pledge.pk, result=result)


def pledge_charge_apply(*, pledge_id: int, result: OffSessionCharge) -> str:
    """Record what the provider answered a charge (from the settle run or a webhook); once."""
    from shop.funding.tasks import send_payment_needed
    from shop.payments.webhooks import misfit

    with transaction.atomic():
        pledge = (
            Pledge.objects.select_for_update(of=("self",)).select_related("order").get(pk=pledge_id)
        )
        order = pledge.order
        if order is None or pledge.status not in (Pledge.Status.CHARGING, Pledge.Status.RECOVERING):
            return pledge.status
        if result.status == "succeeded":
            wrong = misfit(
                order, what="Stripe's payment", amount=result.amount, currency=result.currency
            )
            if wrong is not None:
                order_flag(order_id=order.pk, reason=wrong)
                log.warning("Pledge %s not marked paid: %s", pledge.public_id, wrong)
                return pledge.status
            try:
                order_fulfil(
                    order_id=order.pk, payment_id=result.payment_intent, charge_id=result.charge
                )
            except OrderStateError as exc:
                order_flag(order_id=order.pk, reason=str(exc))
                return pledge.status
            pledge.status = Pledge.Status.CHARGED
            pledge.failure_reason = ""
        elif result.status == "processing":
            return pledge.status  # the payment_intent webhook will say
        elif pledge.status == Pledge.Status.CHARGING:
            pledge.status = Pledge.Status.RECOVERING
            pledge.payment_intent = result.payment_intent or ""
            pledge.failure_reason = (result.message or result.code)[:300]
            pledge.recover_until = timezone.now() + timedelta(days=settings.FUNDING_GRACE_DAYS)
            transaction.on_commit(lambda: send_payment_needed.enqueue(pledge_id=pledge_id))
        else:
            return pledge.status
        pledge.save(
            update_fields=[
                "status",
                "failure_reason",
                "recover_until",
                "payment_intent",
                "updated_at",
            ]
        )
    return pledge.status


def _unfunded(campaign: Campaign, report: Report) -> None:
    from shop.funding.tasks import send_not_funded

    while True:
        with transaction.atomic():
            ids = list(
                Pledge.objects.filter(
                    campaign=campaign, status__in=(Pledge.Status.ACTIVE, Pledge.Status.PENDING)
                )
                .order_by("pk")
                .values_list("pk", "status")[:BATCH]
            )
            if not ids:
                return
            Pledge.objects.filter(pk__in=[pk for pk, _s in ids]).update(
                status=Pledge.Status.RELEASED
            )
            for pk, status in ids:
                if status == Pledge.Status.ACTIVE:  # a card never saved has nobody to tell
                    transaction.on_commit(partial(send_not_funded.enqueue, pledge_id=pk))
            report.released_unfunded += len(ids)
        _lease_renew(campaign.pk)
        log.info("Campaign %s: %d pledges released", campaign.pk, report.released_unfunded)


def campaign_settle(
    *,
    campaign_id: int,
    report: Report | None = None,
    after_charge: Callable[[], None] | None = None,
) -> Report:
    """Settle one campaign past its deadline, if this run can claim it."""
    report = report or Report()
    if not campaign_claim(campaign_id=campaign_id):
        return report
    campaign = Campaign.objects.get(pk=campaign_id)
    report.campaigns.append(campaign.title)
    if not campaign.goal_met:
        _unfunded(campaign, report)
        _settled(campaign, Campaign.Status.FAILED)
        log.info("Campaign %s missed its goal: nobody charged", campaign.pk)
        return report
    backers = campaign.pledges.filter(status__in=HOLDING).count()
    Pledge.objects.filter(campaign=campaign, status=Pledge.Status.PENDING).update(
        status=Pledge.Status.CANCELLED
    )
    done = 0
    last = 0
    while True:
        batch = list(
            Pledge.objects.filter(
                campaign=campaign,
                pk__gt=last,
                status__in=(Pledge.Status.ACTIVE, Pledge.Status.CHARGING),
            )
            .order_by("pk")
            .values_list("pk", flat=True)[:BATCH]
        )
        if not batch:
            break
        for pledge_id in batch:
            status = pledge_charge(pledge_id=pledge_id, backers=backers)
            if status == Pledge.Status.CHARGED:
                report.charged += 1
            elif status == Pledge.Status.RECOVERING:
                report.recovering += 1
            if after_charge is not None:
                after_charge()
        last = batch[-1]
        done += len(batch)
        _lease_renew(campaign.pk)
        log.info("Campaign %s: %d of %d pledges charged or tried", campaign.pk, done, backers)
    fresh = timezone.now() - KEY_LIFETIME
    if campaign.pledges.filter(status=Pledge.Status.CHARGING, updated_at__gte=fresh).exists():
        return report  # Stripe did not answer for some: the next run (after the lease) retries
    _settled(campaign, Campaign.Status.SUCCEEDED)
    return report


def _settled(campaign: Campaign, status: str) -> None:
    with transaction.atomic():
        done = Campaign.objects.filter(pk=campaign.pk, status=Campaign.Status.SETTLING).update(
            status=status, settled_at=timezone.now(), lease_until=None
        )
        if done:
            seller_event(
                type="campaign.settled",
                seller_id=campaign.seller_id,
                key=f"campaign:{campaign.pk}:settled",
                campaign_id=campaign.pk,
            )


def recovering_paid(report: Report, *, pledge_id: int | None = None) -> None:
    """Backers who paid on session after a failed charge are charged backers (database only:
    the pledge's own page asks it for its pledge)."""
    paid = Pledge.objects.filter(status=Pledge.Status.RECOVERING, order__status=Order.Status.PAID)
    if pledge_id is not None:
        paid = paid.filter(pk=pledge_id)
    for pledge in paid:
        if Pledge.objects.filter(pk=pledge.pk, status=Pledge.Status.RECOVERING).update(
            status=Pledge.Status.CHARGED, failure_reason=""
        ):
            report.charged += 1


def recovering_sync(report: Report) -> None:
    """Backers who paid on session after a failed charge; those past the grace period dropped."""
    recovering_paid(report)
    expired = Pledge.objects.filter(
        status=Pledge.Status.RECOVERING, recover_until__lt=timezone.now()
    ).select_related("campaign", "order")
    for pledge in expired:
        if not _payment_page_closed(pledge):
            continue
        with transaction.atomic():
            if not Pledge.objects.filter(pk=pledge.pk, status=Pledge.Status.RECOVERING).update(
                status=Pledge.Status.DROPPED
            ):
                continue
            if pledge.order is not None:
                order_expire(order_id=pledge.order.pk)
            teaser_revoke(pledge, gettext_noop("The pledge was not paid."))
            report.dropped += 1


def _payment_page_closed(pledge: Pledge) -> bool:
    """Before a pledge is dropped, its on-session payment page (a Checkout Session lives
    24 hours) is closed at Stripe, so nobody pays for a dropped pledge. False when it was
    paid meanwhile (its webhook settles it) or Stripe cannot say yet (the next run asks)."""
    order = pledge.order
    if order is None or order.provider != "stripe" or not order.provider_session_id:
        return True
    try:
        status = stripe_api.checkout_session_expire(order.provider_session_id)
    except stripe_api.PaymentProviderError as exc:
        log.warning("Pledge %s not dropped yet: %s", pledge.public_id, exc)
        return False
    return status != "complete"


def campaign_releasable(campaign: Campaign) -> bool:
    product = campaign.product
    return (
        campaign.status == Campaign.Status.SUCCEEDED
        and product.status in (Product.Status.PUBLISHED, Product.Status.UNLISTED)
        and product.assets.filter(role=Asset.Role.DELIVERABLE).exists()
    )


def campaign_release(*, campaign_id: int, report: Report | None = None) -> Report:
    """The record is out: every charged backer gets it and one release email; idempotent."""
    from shop.funding.tasks import send_release

    report = report or Report()
    campaign = Campaign.objects.select_related("product").get(pk=campaign_id)
    if not campaign_releasable(campaign):
        return report
    Campaign.objects.filter(pk=campaign.pk, released_at__isnull=True).update(
        released_at=timezone.now()
    )
    pending = Pledge.objects.filter(
        campaign=campaign, status=Pledge.Status.CHARGED, released_at__isnull=True
    ).select_related("order")
    for pledge in pending.iterator(chunk_size=BATCH):
        with transaction.atomic():
            if not Pledge.objects.filter(pk=pledge.pk, released_at__isnull=True).update(
                released_at=timezone.now()
            ):
                continue
            assert pledge.order is not None
            order_items_release(order_id=pledge.order.pk)
            transaction.on_commit(partial(send_release.enqueue, pledge_id=pledge.pk))
            report.delivered += 1
    return report


def funding_settle(*, after_charge: Callable[[], None] | None = None) -> Report:
    """Everything the clock does: close due campaigns, follow recoveries, deliver releases."""
    report = Report()
    now = timezone.now()
    due = Campaign.objects.filter(
        Q(status=Campaign.Status.LIVE, deadline__lte=now)
        | Q(status=Campaign.Status.SETTLING, lease_until__lt=now)
    ).values_list("pk", flat=True)
    for campaign_id in list(due):
        campaign_settle(campaign_id=campaign_id, report=report, after_charge=after_charge)
    recovering_sync(report)
    for campaign_id in Campaign.objects.filter(status=Campaign.Status.SUCCEEDED).values_list(
        "pk", flat=True
    ):
        campaign_release(campaign_id=campaign_id, report=report)
    return report


def _recovery_check(pledge: Pledge) -> None:
    from shop.funding.services import FundingError

    late = pledge.recover_until is None or pledge.recover_until < timezone.now()
    if pledge.status != Pledge.Status.RECOVERING or late or pledge.order is None:
        raise FundingError(_("This pledge has no payment waiting."))


def pledge_recovery_order(*, pledge_id: int) -> Order | None:
    """The order a backer pays on session after a failed charge (a new one after a decline);
    None when the failed charge turned out paid after all (nothing more to pay).

    The on-session payment is a new Checkout Session, so the failed off-session
    PaymentIntent is cancelled first (no transaction open): from then on it can never
    charge, and the order's one payment is the session's. Should Stripe answer that it
    succeeded meanwhile, that answer is recorded instead and no page is opened.
    """
    pledge = Pledge.objects.select_related("order").get(pk=pledge_id)
    _recovery_check(pledge)
    if pledge.payment_intent and not pledge.payment_intent_cancelled:
        answer = cards_for(pledge.provider).void(pledge=pledge)
        if answer is not None:
            if answer.status == "succeeded":
                pledge_charge_apply(pledge_id=pledge.pk, result=answer)
                return None
            raise stripe_api.PaymentProviderError(
                _("The failed payment is still being processed; try again in a few minutes.")
            )
        Pledge.objects.filter(pk=pledge.pk).update(payment_intent_cancelled=True)
    with transaction.atomic():
        pledge = (
            Pledge.objects.select_for_update(of=("self",))
            .select_related("order", "campaign")
            .get(pk=pledge_id)
        )
        _recovery_check(pledge)
        assert pledge.order is not None
        order = pledge.order
        if order.status in (Order.Status.PENDING, Order.Status.PAID):
            return order
        item = order.items.get()
        pledge.order = order_create_priced(
            product=pledge.campaign.product,
            amount=pledge.amount,
            currency=pledge.currency,
            email=pledge.email,
            checkout_key=f"pledge-{pledge.public_id.hex}-{secrets.token_hex(6)}",
            provider=pledge.provider,
            note=item.note,
            release_held=True,
            language=pledge.language,
        )
        pledge.save(update_fields=["order", "updated_at"])
        return pledge.order
