"""The seller's side: campaigns, their tiers, launching, updates to backers, the release."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from catalog.access import request_seller, seller_required
from catalog.limits import Limited
from catalog.models import Asset, Product
from catalog.money import to_decimal_string
from shop.funding import selectors
from shop.funding.access import access_campaign_for_seller
from shop.funding.models import HOLDING, Campaign
from shop.funding.services import (
    FundingError,
    campaign_last_day,
    campaign_launch,
    campaign_save,
    campaign_update_post,
    stretch_goal_add,
    tier_delete,
    tier_save,
)
from shop.funding.settlement import campaign_releasable, campaign_release


def _ids(values: list[str]) -> list[int]:
    return [int(v) for v in values if v.isdigit() and len(v) < 19]


@seller_required
def campaigns(request: HttpRequest) -> HttpResponse:
    seller = request_seller(request)
    return render(
        request,
        "funding/sell/campaigns.html",
        {"seller": seller, "rows": selectors.campaigns_with_figures(seller)},
    )


def _form_values(request: HttpRequest, found: Campaign | None) -> dict[str, object]:
    if request.method == "POST":
        return {
            "product": request.POST.get("product", ""),
            "title": request.POST.get("title", ""),
            "story": request.POST.get("story", ""),
            "goal": request.POST.get("goal", ""),
            "deadline": request.POST.get("deadline", ""),
            "release_date": request.POST.get("release_date", ""),
            "samples": _ids(request.POST.getlist("samples")),
            "teaser": request.POST.get("teaser", ""),
        }
    if found is None:
        return {"product": request.GET.get("product", ""), "samples": []}
    return {
        "product": str(found.product_id),
        "title": found.title,
        "story": found.story,
        "goal": to_decimal_string(found.goal, found.currency),
        "deadline": campaign_last_day(found).isoformat(),
        "release_date": found.release_date.isoformat(),
        "samples": list(found.samples.values_list("pk", flat=True)),
        "teaser": str(found.teaser_id or ""),
    }


@seller_required
@require_http_methods(["GET", "POST"])
def campaign_form(request: HttpRequest, campaign: int | None = None) -> HttpResponse:
    seller = request_seller(request)
    found = access_campaign_for_seller(request, campaign) if campaign is not None else None
    values = _form_values(request, found)
    errors: dict[str, str] = {}
    if request.method == "POST":
        product_id = str(values["product"])
        try:
            saved = campaign_save(
                seller=seller,
                campaign=found,
                product_id=int(product_id)
                if product_id.isdigit() and len(product_id) < 19
                else None,
                title=str(values["title"]),
                story=str(values["story"]),
                goal_text=str(values["goal"]),
                deadline_text=str(values["deadline"]),
                release_text=str(values["release_date"]),
                sample_ids=values["samples"],  # type: ignore[arg-type]
                teaser_id=int(str(values["teaser"])) if str(values["teaser"]).isdigit() else None,
            )
        except FundingError as exc:
            errors[exc.field or "form"] = exc.message
        else:
            messages.success(request, _("Campaign saved."))
            return redirect("funding:sell_campaign", campaign=saved.pk)
    products = Product.objects.filter(seller=seller).exclude(campaign__isnull=False)
    if found is not None:
        products = Product.objects.filter(pk=found.product_id)
    chosen = str(values.get("product") or "")
    previews = Asset.objects.filter(
        product__seller=seller,
        role=Asset.Role.PREVIEW,
        product_id=chosen if chosen.isdigit() else 0,
    )
    context = {
        "seller": seller,
        "campaign": found,
        "products": products,
        "teasers": Product.objects.filter(seller=seller).exclude(
            pk=chosen if chosen.isdigit() else 0
        ),
        "previews": previews,
        "values": values,
        "errors": errors,
        "locked": found is not None and found.status != Campaign.Status.DRAFT,
    }
    return render(
        request, "funding/sell/campaign_form.html", context, status=400 if errors else 200
    )


@seller_required
@require_http_methods(["GET", "POST"])
def campaign_detail(request: HttpRequest, campaign: int) -> HttpResponse:
    found = access_campaign_for_seller(request, campaign)
    errors: dict[str, str] = {}
    tier_values = {"title": "", "minimum": "", "cap": "", "rewards": "", "free_amount": False}
    update_values = {"subject": "", "body": ""}
    status = 200
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "tier":
                tier_values = {
                    "title": request.POST.get("title", ""),
                    "minimum": request.POST.get("minimum", ""),
                    "cap": request.POST.get("cap", ""),
                    "rewards": request.POST.get("rewards", ""),
                    "free_amount": bool(request.POST.get("free_amount")),
                }
                tier_id = request.POST.get("tier", "")
                tier = found.tiers.filter(pk=int(tier_id)).first() if tier_id.isdigit() else None
                tier_save(
                    campaign=found,
                    tier=tier,
                    title=str(tier_values["title"]),
                    minimum_text=str(tier_values["minimum"]),
                    free_amount=bool(tier_values["free_amount"]),
                    cap_text=str(tier_values["cap"]),
                    rewards=str(tier_values["rewards"]),
                )
                messages.success(request, _("Tier saved."))
            elif action == "tier_delete":
                tier_id = request.POST.get("tier", "")
                tier = found.tiers.filter(pk=int(tier_id)).first() if tier_id.isdigit() else None
                if tier is not None:
                    tier_delete(tier=tier)
                    messages.success(request, _("Tier removed."))
            elif action == "launch":
                campaign_launch(campaign=found)
                messages.success(request, _("The campaign is live: fans can pledge."))
            elif action == "release":
                if not campaign_releasable(found):
                    raise FundingError(
                        _(
                            "Publish the product with its files first (the Files page); "
                            "then release."
                        )
                    )
                report = campaign_release(campaign_id=found.pk)
                messages.success(
                    request,
                    _("Released: %(count)d backers got the record and an email.")
                    % {"count": report.delivered},
                )
            elif action == "stretch":
                stretch_goal_add(
                    campaign=found,
                    amount_text=request.POST.get("amount", ""),
                    description=request.POST.get("description", ""),
                )
                messages.success(request, _("Stretch goal added."))
            elif action == "update":
                update_values = {
                    "subject": request.POST.get("subject", ""),
                    "body": request.POST.get("body", ""),
                }
                campaign_update_post(
                    campaign=found, subject=update_values["subject"], body=update_values["body"]
                )
                messages.success(request, _("Your update is on its way to every backer."))
            else:
                raise FundingError(_("Choose what to do."))
        except FundingError as exc:
            errors[f"{request.POST.get('action', '')}_{exc.field or 'form'}"] = exc.message
            status = 400
        except Limited as exc:
            errors["update_form"] = f"{exc.message} {_('Please try again')} {exc.wait}."
            status = 429
        else:
            return redirect("funding:sell_campaign", campaign=found.pk)
    found.refresh_from_db()
    context = {
        "seller": found.seller,
        "campaign": found,
        "figures": selectors.campaign_figures(found),
        "samples": selectors.campaign_samples(found),
        "backers": found.pledges.filter(status__in=HOLDING).select_related("tier")[:200],
        "tier_values": tier_values,
        "update_values": update_values,
        "errors": errors,
        "releasable": campaign_releasable(found),
        "stretch_goals": list(found.stretch_goals.all()),
    }
    response = render(request, "funding/sell/campaign.html", context, status=status)
    if status == 429:
        response["Retry-After"] = "3600"
    return response
