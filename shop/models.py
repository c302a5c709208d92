from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.urls import reverse

from catalog.models import Product, Seller, currency_validator
from catalog.money import Money
from delivery.models import Entitlement


class Order(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Awaiting payment"
        PAID = "paid", "Paid"
        FAILED = "failed", "Payment failed"
        REFUNDED = "refunded", "Refunded"
        PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"
        DISPUTED = "disputed", "Disputed"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    buyer_email = models.EmailField(max_length=254)
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    currency = models.CharField(max_length=3, validators=[currency_validator])
    subtotal = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    platform_fee = models.PositiveIntegerField(default=0)
    refunded_amount = models.PositiveIntegerField(default=0)
    provider = models.CharField(max_length=20)
    # The checkout form's one-time key: a replayed form finds this order instead of a new one.
    checkout_key = models.CharField(max_length=64, unique=True)
    provider_session_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    provider_payment_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    failure_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "-created_at"])]

    def __str__(self) -> str:
        return f"Order {self.public_id}"

    def get_absolute_url(self) -> str:
        return reverse("shop:receipt", kwargs={"order": self.public_id})

    @property
    def total_money(self) -> Money:
        return Money(self.total, self.currency)


class OrderItem(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="order_items")
    seller = models.ForeignKey(Seller, on_delete=models.PROTECT, related_name="order_items")
    title = models.CharField(max_length=200, help_text="The product's title when it was bought.")
    unit_price = models.PositiveIntegerField(help_text="What the buyer actually paid, minor units.")
    platform_fee = models.PositiveIntegerField(default=0)
    entitlement = models.OneToOneField(
        Entitlement, null=True, blank=True, on_delete=models.PROTECT, related_name="order_item"
    )

    def __str__(self) -> str:
        return self.title

    @property
    def price_money(self) -> Money:
        return Money(self.unit_price, self.order.currency)


class PaymentEvent(models.Model):
    """Every provider event received, recorded once: the idempotency ledger."""

    provider = models.CharField(max_length=20)
    event_id = models.CharField(max_length=255)
    type = models.CharField(max_length=100)
    received_at = models.DateTimeField(auto_now_add=True)
    payload = models.JSONField(default=dict)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "event_id"], name="payment_event_once"),
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.type} {self.event_id}"
