"""The fan's side: the campaign page, pledging, the pledge's own page (magic link)."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from catalog.headers import bearer_token_page
from catalog.limits import Limited, limited_response, mail_limit
from shop.funding import selectors
from shop.funding.links import access_pledge_link, pledge_link_create
from shop.funding.models import Campaign, Pledge
from shop.funding.payments import TEST_CARDS, cards_for, charge_terms
from shop.funding.services import (
    FundingError,
    pledge_cancel,
    pledge_card_saved,
    pledge_change,
    pledge_start,
)
from shop.funding.settlement import Report, pledge_recovery_order, recovering_paid
from shop.funding.webhooks import card_for, card_saved_apply
from shop.payments import stripe_api
from shop.payments.base import PaymentsUnavailable, get_provider

SESSION_PLEDGES = "funding_pledges"


def _hold(request: HttpRequest, pledge: Pledge) -> None:
    """This browser started the pledge: it may save its card and open its page once."""
    held = [p for p in request.session.get(SESSION_PLEDGES, []) if p != str(pledge.public_id)]
    request.session[SESSION_PLEDGES] = [*held[-19:], str(pledge.public_id)]


def _holds(request: HttpRequest, pledge: Pledge) -> bool:
    return str(pledge.public_id) in request.session.get(SESSION_PLEDGES, [])


def _campaign_context(campaign: Campaign, **extra: object) -> dict[str, object]:
    return {
        "campaign": campaign,
        "figures": selectors.campaign_figures(campaign),
        "samples": selectors.campaign_samples(campaign),
        "wall": selectors.backers_wall(campaign),
        "stretch_goals": list(campaign.stretch_goals.all()),
        "updates": list(campaign.updates.all()[:10]),
        "values": {},
        "errors": {},
        **extra,
    }


@require_http_methods(["GET", "POST"])
def campaign(request: HttpRequest, campaign: int) -> HttpResponse:
    found = get_object_or_404(selectors.public_campaigns(), pk=campaign)
    if request.method == "GET":
        return render(request, "funding/campaign.html", _campaign_context(found))
    values = {
        key: request.POST.get(key, "")
        for key in ("tier", "amount", "currency", "email", "wall_name")
    }
    try:
        provider = get_provider()
        mail_limit(request=request, recipients=[values["email"]])
        pledge = pledge_start(
            campaign_id=found.pk,
            tier_id=values["tier"],
            amount_text=values["amount"],
            currency=values["currency"],
            email=values["email"],
            wall_name=values["wall_name"] if request.POST.get("on_wall") else "",
            provider=provider.name,
        )
        _hold(request, pledge)
        return redirect(cards_for(pledge.provider).card_start(pledge=pledge))
    except Limited as exc:
        context = _campaign_context(found, values=values)
        return limited_response(request, exc, template="funding/campaign.html", context=context)
    except (FundingError, PaymentsUnavailable, stripe_api.PaymentProviderError) as exc:
        field = getattr(exc, "field", None) or "form"
        message = getattr(exc, "message", str(exc))
        context = _campaign_context(found, values=values, errors={field: message})
        return render(request, "funding/campaign.html", context, status=400)


def _pledge_page_for(request: HttpRequest, pledge: Pledge) -> HttpResponse:
    """The browser that started the pledge goes on to its page through a fresh magic link."""
    token = pledge_link_create(pledge=pledge)
    return redirect("funding:pledge", token=token)


@bearer_token_page
@require_http_methods(["GET", "POST"])
def test_card(request: HttpRequest, pledge: str) -> HttpResponse:
    """The test-mode stand-in for Stripe's page that saves a card (no card, no money)."""
    try:
        provider = get_provider()
    except PaymentsUnavailable as exc:
        return render(request, "shop/unavailable.html", {"message": str(exc)}, status=403)
    if not provider.is_test:
        raise Http404("Test payments are off.")
    found = get_object_or_404(Pledge.objects.select_related("campaign", "tier"), public_id=pledge)
    if not _holds(request, found):
        raise Http404("Not this browser's pledge.")
    if request.method == "POST":
        card = request.POST.get("card", "")
        if card not in TEST_CARDS:
            messages.error(request, _("Choose one of the test cards."))
            return redirect(request.path)
        try:
            pledge_card_saved(pledge_id=found.pk, customer="cus_test", payment_method=card)
        except FundingError as exc:
            messages.error(request, exc.message)
            return redirect(found.campaign)
        return _pledge_page_for(request, found)
    return render(
        request,
        "funding/test_card.html",
        {"pledge": found, "terms": charge_terms(found), "cards": TEST_CARDS},
    )


@bearer_token_page
@require_GET
def setup_return(request: HttpRequest) -> HttpResponse:
    """Back from Stripe's setup page: save the card now rather than wait for the webhook."""
    session_id = request.GET.get("session_id", "")
    if not session_id.startswith("cs_") or len(session_id) > 255:
        raise Http404("Unknown session.")
    found = Pledge.objects.filter(setup_session_id=session_id).select_related("campaign").first()
    if found is None or not _holds(request, found):
        raise Http404("Unknown session.")
    try:
        session = stripe_api.setup_session_retrieve(session_id)
        card_saved_apply(session, card_for(session))
    except stripe_api.PaymentProviderError:
        pass  # the webhook saves it
    found.refresh_from_db()
    if found.status == Pledge.Status.PENDING:
        messages.info(request, _("Your card is being saved; the confirmation email follows."))
        return redirect(found.campaign)
    return _pledge_page_for(request, found)


def _pledge_context(pledge: Pledge, token: str, **extra: object) -> dict[str, object]:
    campaign = pledge.campaign
    return {
        "pledge": pledge,
        "token": token,
        "campaign": campaign,
        "figures": selectors.campaign_figures(campaign),
        "samples": selectors.campaign_samples(campaign),
        "open": campaign.status == Campaign.Status.LIVE
        and pledge.status == Pledge.Status.ACTIVE
        and campaign.deadline > timezone.now(),
        "values": {"tier": pledge.tier_id, "amount": ""},
        "errors": {},
        **extra,
    }


@bearer_token_page
@require_http_methods(["GET", "POST"])
def pledge(request: HttpRequest, token: str) -> HttpResponse:
    """A backer's own pledge: see, change, cancel, change the card, pay after a failed charge."""
    found = access_pledge_link(token)
    if found is None:
        return render(request, "funding/link_invalid.html", status=404)
    if found.status == Pledge.Status.RECOVERING:
        recovering_paid(Report(), pledge_id=found.pk)  # paid on session meanwhile?
        found.refresh_from_db()
    if request.method == "GET":
        return render(request, "funding/pledge.html", _pledge_context(found, token))
    action = request.POST.get("action", "")
    try:
        if action == "change":
            values = {key: request.POST.get(key, "") for key in ("tier", "amount", "currency")}
            try:
                pledge_change(
                    pledge=found,
                    tier_id=values["tier"],
                    amount_text=values["amount"],
                    currency=values["currency"],
                )
            except FundingError as exc:
                context = _pledge_context(
                    found, token, values=values, errors={exc.field or "form": exc.message}
                )
                return render(request, "funding/pledge.html", context, status=400)
            messages.success(request, _("Your pledge is changed."))
        elif action == "cancel":
            pledge_cancel(pledge=found)
            messages.success(request, _("Your pledge is cancelled: nothing will be charged."))
        elif action == "card":
            if (
                found.status != Pledge.Status.ACTIVE
                or found.campaign.status != Campaign.Status.LIVE
                or found.campaign.deadline <= timezone.now()
            ):
                raise FundingError(_("The card can be changed until the deadline."))
            _hold(request, found)
            return redirect(cards_for(found.provider).card_start(pledge=found))
        elif action == "pay":
            order = pledge_recovery_order(pledge_id=found.pk)
            if order is None:
                messages.success(request, _("Your payment went through: nothing more to pay."))
            else:
                provider = get_provider()
                return redirect(provider.start(order=order, request=request))
        else:
            raise FundingError(_("Choose what to do with the pledge."))
    except FundingError as exc:
        messages.error(request, exc.message)
    except (PaymentsUnavailable, stripe_api.PaymentProviderError) as exc:
        messages.error(request, str(exc))
    return redirect(reverse("funding:pledge", kwargs={"token": token}))
