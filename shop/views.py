from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone as django_timezone
from django.utils.translation import gettext, gettext_noop
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from catalog.accounts import email_normalize
from catalog.attribution import Attribution, attribution_from_form
from catalog.dbretry import retry_safe
from catalog.headers import bearer_token_page
from catalog.limits import Limited, code_limit, limited_response, mail_limit
from catalog.models import Product
from catalog.selectors import VISIBLE_BY_URL
from catalog.views import product_context
from delivery import access as delivery_access
from delivery.models import Entitlement
from delivery.views import file_link_redirect, purchases_with_links
from shop import invoices, oss
from shop.access import access_staff
from shop.cart import Cart
from shop.models import Invoice, Order, OrderItem
from shop.payments import stripe_api
from shop.payments.base import PaymentProvider, PaymentsUnavailable, get_provider
from shop.payments.webhooks import session_settle, webhook_receive
from shop.services import (
    RETRYABLE,
    CheckoutError,
    CheckoutReplayed,
    OrderLine,
    OrderStateError,
    checkout_key_new,
    lines_price,
    order_create,
    order_fail,
    order_fulfil,
    order_retry,
    price_for,
)

log = logging.getLogger(__name__)


def _order_with_items(public_id: str | uuid.UUID) -> tuple[list[OrderItem], Order]:
    """An order's items as its pages show them, with the order and its invoice, in one
    read (an order always has items; without any, the order alone, or 404)."""
    items = list(
        OrderItem.objects.filter(order__public_id=public_id)
        .select_related("order__invoice", "product__seller")
        .order_by("pk")
    )
    if items:
        return items, items[0].order
    return [], get_object_or_404(Order.objects.select_related("invoice"), public_id=public_id)


def _buyable(product_id: int) -> Product:
    product = (
        Product.objects.filter(pk=product_id, status__in=VISIBLE_BY_URL)
        .select_related("seller")
        .first()
    )
    if product is None:
        raise Http404("No such product.")
    return product


def _product_page(product: Product, **extra: object) -> dict[str, object]:
    """The product page's context, to show the form again; its files are read only now."""
    product.ordered_assets = list(product.assets.all())  # type: ignore[attr-defined]
    return product_context(product, **extra)


def _go_pay(request: HttpRequest, provider: PaymentProvider, order: Order) -> HttpResponse:
    """Send the buyer to pay, or to the receipt when there is nothing to pay."""
    # This browser placed the order: its receipt page may offer the order's own files.
    delivery_access.receipt_hold(request.session, receipt=str(order.public_id))
    if order.status == Order.Status.PAID:
        return redirect(order)
    try:
        return redirect(provider.start(order=order, request=request))
    except stripe_api.PaymentProviderError as exc:
        return render(
            request, "shop/unavailable.html", {"message": str(exc), "order": order}, status=502
        )


def _free_order_to(lines: list[OrderLine], *, email: str, code: str) -> str | None:
    """The address a receipt goes to at once when these lines cost nothing."""
    email = email_normalize(email)
    try:
        validate_email(email)
        free = sum(p.unit_price for p in lines_price(lines=lines, code=code)) == 0
    except (ValidationError, CheckoutError):
        return None  # order_create says what is wrong
    return email if free and lines else None


def _limits(request: HttpRequest, *, lines: list[OrderLine], email: str, code: str) -> None:
    """A typed code counts against the client's guesses; a free order's receipt is a
    mail anyone could aim at any address, so it counts like every other such mail."""
    if code.strip():
        code_limit(request=request)
    recipient = _free_order_to(lines, email=email, code=code)
    if recipient is not None:
        mail_limit(request=request, recipients=[recipient])


def _place_order(
    request: HttpRequest,
    *,
    lines: list[OrderLine],
    email: str,
    code: str,
    attribution: Attribution,
) -> tuple[HttpResponse | None, CheckoutError | None, int]:
    """Create the order and send the buyer on; or say what is wrong with the form.

    Raises :class:`Limited` before anything is written when a limit is reached.
    """
    try:
        provider = get_provider()
    except PaymentsUnavailable as exc:
        return None, CheckoutError(str(exc)), 503
    _limits(request, lines=lines, email=email, code=code)
    try:
        order = order_create(
            lines=lines,
            email=email,
            code=code,
            checkout_key=request.POST.get("checkout_key", ""),
            user=request.user,
            provider=provider.name,
            attribution=attribution,
        )
    except CheckoutError as exc:
        return None, exc, 400
    except CheckoutReplayed as exc:
        previous = exc.order
        if previous.status == Order.Status.PENDING:
            # A double click: carry on with the order the first click made.
            return _go_pay(request, provider, previous), None, 302
        return render(request, "shop/replayed.html", {"order": previous}, status=409), None, 409
    return _go_pay(request, provider, order), None, 302


# Idempotent by its checkout key (decision 6): a cut connection may run it again.
@retry_safe
@require_POST
def checkout(request: HttpRequest, product_id: int) -> HttpResponse:
    """Buy one product now, from its page."""
    product = _buyable(product_id)
    values = {
        "email": request.POST.get("email", ""),
        "amount": request.POST.get("amount", ""),
        "code": request.POST.get("code", ""),
    }
    attribution = attribution_from_form(request.POST)
    try:
        response, error, status = _place_order(
            request,
            lines=[OrderLine(product, values["amount"])],
            email=values["email"],
            code=values["code"],
            attribution=attribution,
        )
    except Limited as exc:
        message = f"{exc.message} Please try again {exc.wait}."
        field = "code" if exc.scope == "discount-code" else "form"
        context = _product_page(
            product, form_values=values, errors={field: message}, attribution=attribution
        )
        return limited_response(request, exc, template="catalog/product.html", context=context)
    if response is not None:
        return response
    assert error is not None
    context = _product_page(
        product,
        form_values=values,
        errors={error.field or "form": error.message},
        attribution=attribution,
    )
    return render(request, "catalog/product.html", context, status=status)


@require_POST
def cart_add(request: HttpRequest, product_id: int) -> HttpResponse:
    product = _buyable(product_id)
    amount = request.POST.get("amount") if product.pricing == Product.Pricing.PWYW else None
    try:
        price_for(product=product, offered=amount)
    except CheckoutError as exc:
        values = {"email": request.POST.get("email", ""), "amount": amount or "", "code": ""}
        context = _product_page(
            product, form_values=values, errors={exc.field or "form": exc.message}
        )
        return render(request, "catalog/product.html", context, status=400)
    basket = Cart(request.session)
    basket.add(product.pk, amount)
    basket.remember_source(attribution_from_form(request.POST))
    messages.success(request, gettext("“%(title)s” is in your cart.") % {"title": product.title})
    return redirect("shop:cart")


@require_POST
def cart_remove(request: HttpRequest, product_id: int) -> HttpResponse:
    Cart(request.session).remove(product_id)
    return redirect("shop:cart")


def _cart_lines(cart: Cart) -> tuple[list[OrderLine], list[str]]:
    """The cart's lines with today's products; what disappeared is named, not hidden."""
    lines = cart.lines
    products = {
        p.pk: p
        for p in Product.objects.filter(pk__in=[line.product_id for line in lines]).select_related(
            "seller"
        )
    }
    found, gone = [], []
    for line in lines:
        product = products.get(line.product_id)
        if product is None or not product.is_buyable:
            gone.append(product.title if product else "A product")
            cart.remove(line.product_id)
            continue
        found.append(OrderLine(product, line.amount))
    return found, gone


@require_http_methods(["GET", "POST"])
def cart(request: HttpRequest) -> HttpResponse:
    basket = Cart(request.session)
    lines, gone = _cart_lines(basket)
    values = {"email": request.POST.get("email", ""), "code": request.POST.get("code", "")}
    if not values["email"] and request.user.is_authenticated:
        values["email"] = getattr(request.user, "email", "")
    error: CheckoutError | None = None
    status = 200
    limited: Limited | None = None
    if request.method == "POST":
        try:
            response, error, status = _place_order(
                request,
                lines=lines,
                email=values["email"],
                code=values["code"],
                attribution=basket.attribution,
            )
        except Limited as exc:
            limited, response, status = exc, None, 429
            field = "code" if exc.scope == "discount-code" else "form"
            error = CheckoutError(
                gettext("%(message)s Please try again %(wait)s.")
                % {"message": exc.message, "wait": exc.wait},
                field,
            )
        if response is not None:
            if status == 302:
                basket.clear()
            return response
    priced, price_error = [], None
    if lines:
        try:
            priced = lines_price(lines=lines, code=values["code"] if error is None else "")
        except CheckoutError as exc:
            price_error = exc
    total, subtotal = sum(p.unit_price for p in priced), sum(p.list_price for p in priced)
    context = {
        "priced": priced,
        "gone": gone,
        "total": total,
        "subtotal": subtotal,
        "discount": subtotal - total,
        "currency": settings.STORE_CURRENCY,
        "form_values": values,
        "errors": {(error.field or "form"): error.message} if error else {},
        "price_error": price_error,
        "form_key": checkout_key_new(),
    }
    if limited is not None:
        return limited_response(request, limited, template="shop/cart.html", context=context)
    return render(request, "shop/cart.html", context, status=status)


@bearer_token_page
@require_POST
def retry(request: HttpRequest, order: str) -> HttpResponse:
    """Try again after a declined or expired payment: a new order of the same items."""
    found = get_object_or_404(Order, public_id=order)
    try:
        provider = get_provider()
    except PaymentsUnavailable as exc:
        return render(request, "shop/unavailable.html", {"message": str(exc)}, status=503)
    try:
        again = order_retry(
            order_id=found.pk,
            checkout_key=request.POST.get("checkout_key", ""),
            provider=provider.name,
        )
    except (CheckoutError, OrderStateError) as exc:
        messages.error(request, getattr(exc, "message", str(exc)))
        return redirect(found)
    except CheckoutReplayed as exc:
        # A double click: carry on with the order the first click made.
        if exc.order.status == Order.Status.PENDING:
            return _go_pay(request, provider, exc.order)
        return redirect(exc.order)
    return _go_pay(request, provider, again)


# Paying goes through order_fulfil under the order's row lock: running it twice pays once.
@retry_safe
@bearer_token_page
@require_http_methods(["GET", "POST"])
def test_pay(request: HttpRequest, order: uuid.UUID) -> HttpResponse:
    """The test-mode provider's stand-in for a hosted payment page."""
    try:
        provider = get_provider()
    except PaymentsUnavailable as exc:
        return render(request, "shop/unavailable.html", {"message": str(exc)}, status=403)
    if not provider.is_test:
        raise Http404("Test payments are off.")
    if request.method == "POST":
        try:
            if request.POST.get("outcome") == "pay":
                # The order is read once, under its row lock, by the payment itself.
                found = order_fulfil(public_id=order, payment_id=f"test_{order.hex}")
            else:
                found = get_object_or_404(Order, public_id=order)
                order_fail(
                    order_id=found.pk, reason=gettext_noop("Declined on the test payment page.")
                )
        except Order.DoesNotExist:
            raise Http404("No such order.") from None
        except OrderStateError as exc:
            found = get_object_or_404(Order, public_id=order)
            return render(
                request, "shop/conflict.html", {"order": found, "message": str(exc)}, status=409
            )
        return redirect(found)
    items, found = _order_with_items(order)
    if found.status != Order.Status.PENDING:
        return redirect(found)
    return render(request, "shop/test_pay.html", {"order": found, "items": items})


@require_GET
def stripe_return(request: HttpRequest) -> HttpResponse:
    """Back from Stripe Checkout: settle the order now instead of waiting for the webhook."""
    session_id = request.GET.get("session_id", "")
    if not session_id.startswith("cs_") or len(session_id) > 255:
        raise Http404("Unknown checkout.")
    order = Order.objects.filter(provider_session_id=session_id).first()
    if order is None:
        raise Http404("Unknown checkout.")
    try:
        session_settle(stripe_api.checkout_session_retrieve(session_id))
    except stripe_api.PaymentProviderError:
        log.warning("Could not retrieve session %s; the webhook will settle it", session_id)
    return redirect(order)


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    try:
        outcome = webhook_receive(
            payload=request.body, signature=request.headers.get("Stripe-Signature", "")
        )
    except stripe_api.WebhookSignatureInvalid:
        return HttpResponseBadRequest("invalid signature", content_type="text/plain")
    except stripe_api.WebhookEventMalformed as exc:
        return HttpResponseBadRequest(f"malformed event: {exc}", content_type="text/plain")
    except stripe_api.PaymentProviderError as exc:
        # Stripe could not tell what is needed to settle (a taxed session's lines): nothing
        # was recorded, and Stripe delivers the event again later.
        log.warning("Stripe webhook deferred: %s", exc)
        return HttpResponse(f"retry: {exc}", status=503, content_type="text/plain")
    return HttpResponse(outcome, content_type="text/plain")


def _receipt_holder(
    request: HttpRequest, order: Order, items: list[OrderItem] | None = None
) -> delivery_access.Holder | None:
    """The order's own purchases, for the browser that placed it (the gate decides);
    ``items``, when the caller has read them, say which they are."""
    entitlement_ids: Iterable[int] = (
        order.items.exclude(entitlement=None).values_list("entitlement_id", flat=True)
        if items is None
        else [item.entitlement_id for item in items if item.entitlement_id is not None]
    )
    return delivery_access.holder_for_receipt(
        request.session, receipt=str(order.public_id), entitlement_ids=entitlement_ids
    )


@bearer_token_page
@require_GET
def receipt(request: HttpRequest, order: str) -> HttpResponse:
    """What an order bought; its files only to the browser that placed it."""
    items, found = _order_with_items(order)
    holder = _receipt_holder(request, found, items)
    account = delivery_access.holder_for_account(request.user)
    entitlements = None
    if holder is not None:
        entitlements = purchases_with_links(
            holder=holder,
            file_url=lambda ent, asset: reverse(
                "shop:receipt_file", args=[found.public_id, ent.pk, asset.pk]
            ),
        )
    context = {
        "order": found,
        "items": items,
        "entitlements": entitlements,
        "invoice": getattr(found, "invoice", None),
        # A fresh key per page: "Try again" twice is one new order, not two.
        "retry_key": checkout_key_new() if found.status in RETRYABLE else "",
        # A signed-in owner of these purchases is pointed at their account's library.
        "account_library": account is not None
        and Entitlement.objects.filter(account.entitlements(), order_item__order=found).exists(),
    }
    return render(request, "shop/receipt.html", context)


def invoice_response(order: Order, *, pdf: bool, request: HttpRequest) -> HttpResponse:
    """An order's invoice, as a page or a PDF download (404 when it has none)."""
    found = Invoice.objects.select_related("order").filter(order=order).first()
    if found is None:
        raise Http404("No invoice for this order.")
    if pdf:
        response = HttpResponse(invoices.invoice_pdf(found), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{found.number}.pdf"'
        return response
    return render(
        request,
        "shop/invoice.html",
        {
            "invoice": found,
            "pdf_url": request.path.rstrip("/") + ".pdf",
            "sheet": invoices.sheet(found),
            "reverse_charge_text": invoices.reverse_charge_text(),
        },
    )


@require_GET
def vat_report(request: HttpRequest) -> HttpResponse:
    """The quarter's OSS VAT table for the platform's staff (it files it), and its CSV."""
    access_staff(request)
    today = django_timezone.now().astimezone(oss.report_zone())
    text = request.GET.get("quarter") or f"{today.year}Q{(today.month - 1) // 3 + 1}"
    try:
        quarter = oss.Quarter.parse(text)
    except oss.QuarterError:
        return render(
            request,
            "shop/vat_report.html",
            {"error": gettext("Write the quarter like 2027Q1."), "quarter": text[:10]},
            status=400,
        )
    rows = oss.quarter_report(quarter)
    if request.GET.get("format") == "csv":
        response = HttpResponse(oss.report_csv(quarter, rows), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="vat-{quarter}.csv"'
        return response
    return render(
        request,
        "shop/vat_report.html",
        {
            "quarter": str(quarter),
            "rows": rows,
            "currency": settings.STORE_CURRENCY,
            "total_net": sum(r.net for r in rows),
            "total_vat": sum(r.vat for r in rows),
            "zone": settings.VAT_REPORT_TIME_ZONE,
        },
    )


@bearer_token_page
@require_GET
def invoice(request: HttpRequest, order: str, pdf: bool = False) -> HttpResponse:
    """The invoice of a paid order, to whoever holds its receipt's address."""
    return invoice_response(get_object_or_404(Order, public_id=order), pdf=pdf, request=request)


@bearer_token_page
@require_GET
def receipt_file(request: HttpRequest, order: str, entitlement: int, asset: int) -> HttpResponse:
    """A file of this order, from its receipt page, for the browser that placed it."""
    found = get_object_or_404(Order, public_id=order)
    holder = _receipt_holder(request, found)
    return file_link_redirect(request, holder=holder, entitlement_id=entitlement, asset_id=asset)
