"""Stripe Checkout as the payment provider: one hosted session per order."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.urls import reverse

from shop import tax
from shop.models import Order
from shop.payments import stripe_api

if TYPE_CHECKING:
    from django.http import HttpRequest


class StripeProvider:
    name = "stripe"
    is_test = False

    def start(self, *, order: Order, request: HttpRequest) -> str:
        """Create (or, on a double click, find again) the order's Checkout Session."""
        if order.provider_session_id:
            existing = stripe_api.checkout_session_retrieve(order.provider_session_id)
            if existing.status == "open" and existing.url:
                return existing.url
        success = settings.SITE_URL + reverse("shop:stripe_return")
        session = stripe_api.checkout_session_create(
            order_public_id=str(order.public_id),
            line_items=[
                stripe_api.LineItem(
                    name=item.title,
                    amount=item.unit_price,
                    currency=order.currency,
                    product_id=item.product_id,
                    tax_behavior=item.tax_behavior or tax.INCLUSIVE,
                    tax_code=item.tax_code or tax.GENERIC_TAX_CODE,
                )
                # Free items ride along in the order; Stripe only sees what costs money.
                for item in order.items.all()
                if item.unit_price > 0
            ],
            customer_email=order.buyer_email,
            success_url=success + "?session_id={CHECKOUT_SESSION_ID}",
            cancel_url=settings.SITE_URL + order.get_absolute_url(),
        )
        with transaction.atomic():
            Order.objects.filter(pk=order.pk, provider_session_id__isnull=True).update(
                provider_session_id=session.id
            )
        if not session.url:
            raise stripe_api.PaymentProviderError("Stripe did not return a payment page.")
        return session.url
