"""Seller-side commerce pages: sales, refunds and payouts (Stripe Connect)."""

from __future__ import annotations

import re
from datetime import date, datetime, time

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from catalog.access import seller_required
from catalog.money import AmountError, CountError, parse_amount, parse_count, to_decimal_string
from catalog.paging import page_of
from shop.access import access_code_for_seller, access_item_for_seller, access_seller
from shop.ledger import seller_balance
from shop.models import DiscountCode, OrderItem, PayoutAccount, SellerTransfer
from shop.payments import stripe_api
from shop.services import (
    DISCOUNT_MAX_USES,
    MAX_PRODUCTS_PER_CODE,
    DiscountCodeError,
    RefundError,
    discount_code_create,
    discount_code_set_active,
    order_item_refund,
)


@seller_required
def sales(request: HttpRequest) -> HttpResponse:
    seller = access_seller(request)
    items = (
        OrderItem.objects.filter(seller=seller, order__paid_at__isnull=False)
        .select_related("order", "order__invoice", "product", "entitlement__license_key")
        .order_by("-order__paid_at", "-pk")
    )
    page, error = page_of(items, 50, request.GET.get("page"))
    return render(
        request,
        "shop/sell/sales.html",
        {"seller": seller, "page": page, "page_error": error},
        status=400 if error else 200,
    )


@seller_required
@require_GET
def sale_invoice(request: HttpRequest, item: int, pdf: bool = False) -> HttpResponse:
    """The invoice of an order with one of the seller's sales (the gate: their item)."""
    from shop.views import invoice_response

    sale = access_item_for_seller(request, item)
    return invoice_response(sale.order, pdf=pdf, request=request)


@seller_required
@require_http_methods(["GET", "POST"])
def refund(request: HttpRequest, item: int) -> HttpResponse:
    sale = access_item_for_seller(request, item)
    currency = sale.order.currency
    values = {
        "amount": request.POST.get("amount", to_decimal_string(sale.refundable, currency)),
        "reason": request.POST.get("reason", ""),
    }
    error = ""
    if request.method == "POST":
        try:
            amount = parse_amount(values["amount"], currency)
            order_item_refund(
                item_id=sale.pk,
                amount=amount,
                reason=values["reason"],
                by=request.user,  # type: ignore[arg-type]
            )
        except (AmountError, RefundError) as exc:
            error = str(exc)
        else:
            messages.success(
                request,
                gettext("Refunded %(values)s %(currency)s on “%(title)s”.")
                % {"values": values["amount"], "currency": currency, "title": sale.title},
            )
            return redirect("shop:sell_sales")
    return render(
        request,
        "shop/sell/refund.html",
        {"sale": sale, "seller": sale.seller, "values": values, "error": error},
        status=400 if error else 200,
    )


@seller_required
def payouts(request: HttpRequest) -> HttpResponse:
    seller = access_seller(request)
    account = PayoutAccount.objects.filter(seller=seller).first()
    transfers = SellerTransfer.objects.filter(seller=seller).order_by("-created_at")[:50]
    return render(
        request,
        "shop/sell/payouts.html",
        {
            "seller": seller,
            "account": account,
            "owed": seller_balance(seller=seller),
            "currency": settings.STORE_CURRENCY,
            "transfers": transfers,
            "stripe_enabled": settings.PAYMENT_PROVIDER == "stripe",
        },
    )


@seller_required
@require_POST
def payouts_connect(request: HttpRequest) -> HttpResponse:
    """Start (or continue) Stripe Express onboarding."""
    seller = access_seller(request)
    try:
        account = PayoutAccount.objects.filter(seller=seller).first()
        if account is None:
            # Asked with no transaction open; the idempotency key makes a second
            # click (or a second node) get the same account back from Stripe.
            account_id = stripe_api.account_create(
                email=request.user.email,  # type: ignore[union-attr]
                idempotency_key=f"connect-seller-{seller.pk}",
            )
            account, _ = PayoutAccount.objects.get_or_create(
                seller=seller, defaults={"stripe_account_id": account_id}
            )
        url = stripe_api.account_link_create(
            account_id=account.stripe_account_id,
            refresh_url=settings.SITE_URL + reverse("shop:sell_payouts"),
            return_url=settings.SITE_URL + reverse("shop:sell_payouts_return"),
        )
    except stripe_api.PaymentProviderError as exc:
        messages.error(
            request, gettext("Stripe could not start the connection: %(exc)s") % {"exc": exc}
        )
        return redirect("shop:sell_payouts")
    return redirect(url)


@seller_required
def payouts_return(request: HttpRequest) -> HttpResponse:
    """Back from onboarding: read the account's state instead of waiting for the webhook."""
    seller = access_seller(request)
    account = PayoutAccount.objects.filter(seller=seller).first()
    if account is not None:
        try:
            status = stripe_api.account_retrieve(account.stripe_account_id)
        except stripe_api.PaymentProviderError:
            status = None
        if status is not None:
            from shop.payments.webhooks import account_status_apply

            account_status_apply(status)
    return redirect("shop:sell_payouts")


@seller_required
@require_http_methods(["GET", "POST"])
def codes(request: HttpRequest) -> HttpResponse:
    """A seller's discount codes: the list, and a form for a new one."""
    seller = access_seller(request)
    products = list(seller.products.order_by("title"))
    values = {
        key: request.POST.get(key, "") for key in ("code", "kind", "value", "expires", "max_uses")
    }
    chosen, unknown = _product_ids(request.POST.getlist("products"))
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            if unknown:
                raise DiscountCodeError(gettext("Pick products from your own shop."), "products")
            expires = _parse_date(values["expires"], "expires_at")
            max_uses = _parse_max_uses(values["max_uses"])
            discount_code_create(
                seller_id=seller.pk,
                code=values["code"],
                kind=values["kind"] or DiscountCode.Kind.PERCENT,
                value_text=values["value"],
                currency=settings.STORE_CURRENCY,
                product_ids=chosen,
                expires_at=expires,
                max_uses=max_uses,
            )
        except DiscountCodeError as exc:
            errors[exc.field or "form"] = exc.message
        else:
            messages.success(
                request, gettext("The code %(strip)s is live.") % {"strip": values["code"].strip()}
            )
            return redirect("shop:sell_codes")
    return render(
        request,
        "shop/sell/codes.html",
        {
            "seller": seller,
            "codes": DiscountCode.objects.filter(seller=seller)
            .prefetch_related("products")
            .order_by("-created_at"),
            "products": products,
            "chosen": chosen,
            "values": values,
            "errors": errors,
            "currency": settings.STORE_CURRENCY,
        },
        status=400 if errors else 200,
    )


_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _product_ids(typed: list[str]) -> tuple[list[int], bool]:
    """The product ids ticked, and whether any of them was not an id at all."""
    ids, unknown = [], False
    for text in typed[:MAX_PRODUCTS_PER_CODE]:
        try:
            ids.append(parse_count(text, minimum=1, maximum=2**63 - 1))
        except CountError:
            unknown = True
    return ids, unknown or len(typed) > MAX_PRODUCTS_PER_CODE


def _parse_date(text: str, field: str) -> datetime | None:
    text = text.strip()
    if not text:
        return None
    try:
        if len(text) > 10 or not _DAY.fullmatch(text):
            raise ValueError(text)
        day = date.fromisoformat(text)
    except ValueError:
        raise DiscountCodeError(
            gettext("Enter the date as YYYY-MM-DD, like 2026-12-31."), field
        ) from None
    # The code works through the whole of that day in the shop's time zone.
    return timezone.make_aware(datetime.combine(day, time.max))


def _parse_max_uses(text: str) -> int | None:
    if not text.strip():
        return None
    try:
        return parse_count(text, minimum=1, maximum=DISCOUNT_MAX_USES, unit="uses")
    except CountError as exc:
        raise DiscountCodeError(
            gettext("%(exc)s Enter a whole number of uses, or leave it empty for no limit.")
            % {"exc": exc},
            "max_uses",
        ) from None


@seller_required
@require_POST
def code_active(request: HttpRequest, code: int) -> HttpResponse:
    found = access_code_for_seller(request, code)
    discount_code_set_active(code=found, active=request.POST.get("active") == "1")
    return redirect("shop:sell_codes")
