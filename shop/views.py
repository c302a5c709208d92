from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from catalog.models import Product
from catalog.selectors import VISIBLE_BY_URL
from catalog.views import product_context
from delivery.views import open_library_for_email
from shop.models import Order
from shop.payments.base import PaymentsUnavailable, get_provider
from shop.services import (
    CheckoutError,
    CheckoutReplayed,
    OrderStateError,
    order_create,
    order_fail,
    order_fulfil,
)


@require_POST
def checkout(request: HttpRequest, product_id: int) -> HttpResponse:
    product = (
        Product.objects.filter(pk=product_id, status__in=VISIBLE_BY_URL)
        .select_related("seller")
        .prefetch_related("assets")
        .first()
    )
    if product is None:
        raise Http404("No such product.")
    product.ordered_assets = list(product.assets.all())  # type: ignore[attr-defined]
    values = {"email": request.POST.get("email", ""), "amount": request.POST.get("amount", "")}

    def show_error(message: str, field: str | None, status: int) -> HttpResponse:
        context = product_context(product, form_values=values, errors={field or "form": message})
        return render(request, "catalog/product.html", context, status=status)

    try:
        provider = get_provider()
    except PaymentsUnavailable as exc:
        return show_error(str(exc), None, 503)
    try:
        order = order_create(
            product=product,
            email=values["email"],
            offered=values["amount"],
            checkout_key=request.POST.get("checkout_key", ""),
            user=request.user,
            provider=provider.name,
        )
    except CheckoutError as exc:
        return show_error(exc.message, exc.field, 400)
    except CheckoutReplayed as exc:
        previous = exc.order
        if (
            previous.status == Order.Status.PENDING
            and previous.items.filter(product=product).exists()
        ):
            # A double click: carry on with the order the first click made.
            return redirect(provider.start(order=previous, request=request))
        return render(request, "shop/replayed.html", {"order": previous}, status=409)
    if order.status == Order.Status.PAID:
        return redirect(order)
    return redirect(provider.start(order=order, request=request))


@require_http_methods(["GET", "POST"])
def test_pay(request: HttpRequest, order: str) -> HttpResponse:
    """The test-mode provider's stand-in for a hosted payment page."""
    try:
        provider = get_provider()
    except PaymentsUnavailable as exc:
        return render(request, "shop/unavailable.html", {"message": str(exc)}, status=403)
    if not provider.is_test:
        raise Http404("Test payments are off.")
    found = get_object_or_404(Order.objects.prefetch_related("items"), public_id=order)
    if request.method == "POST":
        try:
            if request.POST.get("outcome") == "pay":
                order_fulfil(order_id=found.pk, payment_id=f"test_{found.public_id.hex}")
            else:
                order_fail(order_id=found.pk, reason="Declined on the test payment page.")
        except OrderStateError as exc:
            return render(
                request, "shop/conflict.html", {"order": found, "message": str(exc)}, status=409
            )
        return redirect(found)
    if found.status != Order.Status.PENDING:
        return redirect(found)
    return render(request, "shop/test_pay.html", {"order": found})


def receipt(request: HttpRequest, order: str) -> HttpResponse:
    found = get_object_or_404(
        Order.objects.prefetch_related("items__product__seller"), public_id=order
    )
    return render(request, "shop/receipt.html", {"order": found, "items": found.items.all()})


@require_POST
def receipt_library(request: HttpRequest, order: str) -> HttpResponse:
    """From a paid order's receipt straight into the buyer's library."""
    found = get_object_or_404(Order, public_id=order, status=Order.Status.PAID)
    return open_library_for_email(request, found.buyer_email)
