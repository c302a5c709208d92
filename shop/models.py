from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Upper
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from catalog.models import Product, Seller, currency_validator
from catalog.money import Money
from delivery.models import Entitlement


class Order(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Awaiting payment")
        PAID = "paid", _("Paid")
        FAILED = "failed", _("Payment failed")
        REFUNDED = "refunded", _("Refunded")
        PARTIALLY_REFUNDED = "partially_refunded", _("Partially refunded")
        DISPUTED = "disputed", _("Disputed")
        EXPIRED = "expired", _("Checkout expired")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    buyer_email = models.EmailField(max_length=254)
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    currency = models.CharField(max_length=3, validators=[currency_validator])
    subtotal = models.PositiveIntegerField(default=0, help_text="Before discounts.")
    discount_total = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0, help_text="What the buyer is charged.")
    platform_fee = models.PositiveIntegerField(default=0)
    refunded_amount = models.PositiveIntegerField(default=0)
    provider = models.CharField(max_length=20)
    # The checkout form's one-time key: a replayed form finds this order instead of a new one.
    checkout_key = models.CharField(max_length=64, unique=True)
    provider_session_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    provider_payment_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    provider_charge_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    failure_reason = models.CharField(max_length=300, blank=True)
    flagged = models.BooleanField(default=False, help_text="Disputed or otherwise needs a look.")
    # Where the buyer came from (the visit that led to the order) and where they pay from.
    referrer_host = models.CharField(max_length=255, blank=True)
    utm_source = models.CharField(max_length=100, blank=True)
    utm_campaign = models.CharField(max_length=100, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2.")
    # The buyer's language at checkout: the receipt is written in it, even by the worker.
    language = models.CharField(max_length=8, blank=True)
    flag_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    # VAT as Stripe Tax computed it (shop/tax.py), kept when the order is paid.
    # ``total`` is the sum of the lines' prices; ``tax_added`` is the VAT charged on
    # top of the exclusive ones, so the buyer paid ``total + tax_added``.
    tax_amount = models.PositiveIntegerField(default=0, db_default=0, help_text="All VAT.")
    tax_added = models.PositiveIntegerField(
        default=0, db_default=0, help_text="VAT charged on top of exclusive prices."
    )
    tax_country = models.CharField(max_length=2, blank=True, db_default="")
    # [{"country", "rate" (hundredths of a percent), "taxable", "amount", "reason"}]
    tax_breakdown = models.JSONField(default=list, blank=True, db_default=[])
    buyer_tax_ids = models.JSONField(default=list, blank=True, db_default=[])
    reverse_charge = models.BooleanField(default=False, db_default=False)
    # Two pieces of evidence of where the buyer is (EU rules want two that agree).
    billing_country = models.CharField(max_length=2, blank=True, db_default="")
    card_country = models.CharField(max_length=2, blank=True, db_default="")

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "-created_at"]),
            # The dashboard reads sales by the time they were paid.
            models.Index(fields=["paid_at"], name="order_paid_at"),
        ]

    def __str__(self) -> str:
        return f"Order {self.public_id}"

    def get_absolute_url(self) -> str:
        return reverse("shop:receipt", kwargs={"order": self.public_id})

    @property
    def total_money(self) -> Money:
        return Money(self.total, self.currency)

    @property
    def gross(self) -> int:
        """What the buyer was charged: the prices plus the VAT added on top."""
        return self.total + self.tax_added

    @property
    def net(self) -> int:
        return self.gross - self.tax_amount

    @property
    def country_evidence_conflicts(self) -> bool:
        return bool(
            self.billing_country and self.card_country and self.billing_country != self.card_country
        )


class OrderItem(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="order_items")
    seller = models.ForeignKey(Seller, on_delete=models.PROTECT, related_name="order_items")
    title = models.CharField(max_length=200, help_text="The product's title when it was bought.")
    list_price = models.PositiveIntegerField(
        default=0, help_text="Price before any discount (for pay what you want: the amount typed)."
    )
    discount_amount = models.PositiveIntegerField(default=0)
    discount_code = models.ForeignKey(
        "DiscountCode", null=True, blank=True, on_delete=models.SET_NULL, related_name="items"
    )
    unit_price = models.PositiveIntegerField(help_text="What the buyer actually paid, minor units.")
    # Pay what you want: the product's minimum when it was bought, so the
    # dashboard can say how much above it buyers chose to pay.
    minimum_price = models.PositiveIntegerField(null=True, blank=True)
    platform_fee = models.PositiveIntegerField(default=0)
    refunded_amount = models.PositiveIntegerField(default=0)
    entitlement = models.OneToOneField(
        Entitlement, null=True, blank=True, on_delete=models.PROTECT, related_name="order_item"
    )
    # Paid before the product exists (a fan-funded release): granted on release, not on payment.
    release_held = models.BooleanField(default=False, db_default=False)
    # A line under the title on the receipt ("Backer #17 of 250").
    note = models.CharField(max_length=200, blank=True, db_default="")
    # How Stripe Tax read ``unit_price`` (the seller's choice when the order was made),
    # and what it charged: rate in hundredths of a percent, amount in minor units.
    tax_behavior = models.CharField(max_length=10, blank=True, db_default="")
    tax_code = models.CharField(max_length=20, blank=True, db_default="")
    tax_amount = models.PositiveIntegerField(default=0, db_default=0)
    tax_rate = models.PositiveIntegerField(null=True, blank=True)

    def __str__(self) -> str:
        return self.title

    @property
    def price_money(self) -> Money:
        return Money(self.unit_price, self.order.currency)

    @property
    def gross(self) -> int:
        """What the buyer paid for this line, VAT included."""
        return self.unit_price + (self.tax_amount if self.tax_behavior == "exclusive" else 0)

    @property
    def net(self) -> int:
        """The line without VAT: the seller's revenue before the platform's fee."""
        return self.gross - self.tax_amount

    @property
    def seller_share(self) -> int:
        # VAT is owed to the tax office, not earned: the share is of the net amount.
        return self.net - self.platform_fee

    @property
    def refundable(self) -> int:
        return self.gross - self.refunded_amount


class DiscountCode(models.Model):
    """A seller's code: a percentage or a fixed amount off some or all of their products."""

    class Kind(models.TextChoices):
        PERCENT = "percent", _("Percentage")
        FIXED = "fixed", _("Fixed amount")

    seller = models.ForeignKey(Seller, on_delete=models.CASCADE, related_name="discount_codes")
    code = models.CharField(max_length=40)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.PERCENT)
    # PERCENT: basis points (2500 = 25 %); FIXED: minor units of the store currency.
    value = models.PositiveIntegerField()
    products = models.ManyToManyField(
        Product, blank=True, help_text="Empty means every product of the seller."
    )
    expires_at = models.DateTimeField(null=True, blank=True)
    max_uses = models.PositiveIntegerField(null=True, blank=True)
    used_count = models.PositiveIntegerField(default=0)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                "seller", Upper("code"), name="discount_code_unique_per_seller_ci"
            ),
            models.CheckConstraint(
                condition=~Q(kind="percent") | Q(value__gte=1, value__lte=10_000),
                name="discount_percent_in_range",
            ),
            models.CheckConstraint(
                condition=Q(max_uses__isnull=True) | Q(used_count__lte=F("max_uses")),
                name="discount_uses_within_cap",
            ),
        ]

    def __str__(self) -> str:
        return self.code


class Refund(models.Model):
    """Money given back: one row per refund made at the provider (or recorded from it)."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="refunds")
    item = models.ForeignKey(
        OrderItem, null=True, blank=True, on_delete=models.PROTECT, related_name="refunds"
    )
    amount = models.PositiveIntegerField()
    provider_refund_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    reason = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["created_at"], name="refund_created_at")]

    def __str__(self) -> str:
        return f"Refund {self.amount} of {self.order}"


class PayoutAccount(models.Model):
    """A seller's Stripe Connect (Express) account and what Stripe says it may do."""

    seller = models.OneToOneField(Seller, on_delete=models.CASCADE, related_name="payout_account")
    stripe_account_id = models.CharField(max_length=64, unique=True)
    details_submitted = models.BooleanField(default=False)
    charges_enabled = models.BooleanField(default=False)
    payouts_enabled = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.stripe_account_id

    @property
    def can_receive_transfers(self) -> bool:
        return self.details_submitted and self.payouts_enabled


class SellerTransfer(models.Model):
    """Money moved from the platform to a seller's connected account.

    A row without ``stripe_transfer_id`` is pending: it reserves its ledger
    entries while Stripe is asked, and is sent again until Stripe confirms it.
    """

    seller = models.ForeignKey(Seller, on_delete=models.PROTECT, related_name="transfers")
    amount = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    stripe_transfer_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    transfer_group = models.CharField(max_length=100, blank=True)
    source_transaction = models.CharField(max_length=255, blank=True, db_default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["seller", "created_at"], name="transfer_seller_created")]

    def __str__(self) -> str:
        return self.stripe_transfer_id or f"pending transfer {self.pk}"

    @property
    def is_pending(self) -> bool:
        return self.stripe_transfer_id is None


class LedgerEntry(models.Model):
    """What the platform owes a seller: credits for sales, debits for refunds.

    An entry is settled once a transfer carries it; the unsettled sum is the
    balance still owed.
    """

    class Kind(models.TextChoices):
        SALE = "sale", _("Sale")
        REFUND = "refund", _("Refund")
        DISPUTE = "dispute", _("Dispute")

    seller = models.ForeignKey(Seller, on_delete=models.PROTECT, related_name="ledger")
    item = models.ForeignKey(OrderItem, on_delete=models.PROTECT, related_name="ledger_entries")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    amount = models.IntegerField(help_text="Signed minor units: + owed to the seller.")
    currency = models.CharField(max_length=3)
    # One refund made for a whole order is spread over its items: one debit per item.
    refund = models.ForeignKey(
        Refund, null=True, blank=True, on_delete=models.PROTECT, related_name="ledger_entries"
    )
    transfer = models.ForeignKey(
        SellerTransfer, null=True, blank=True, on_delete=models.PROTECT, related_name="entries"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "ledger entries"
        constraints = [
            models.UniqueConstraint(
                fields=["item"], condition=Q(kind="sale"), name="ledger_one_sale_per_item"
            ),
            models.UniqueConstraint(
                fields=["refund", "item"], name="ledger_one_debit_per_refund_and_item"
            ),
        ]
        indexes = [
            models.Index(fields=["seller", "transfer"]),
            # Disputes by the day they happened (the dashboard's live part).
            models.Index(fields=["kind", "created_at"], name="ledger_kind_created"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} for {self.seller}"


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


class InvoiceCounter(models.Model):
    """The last invoice number given, one row per sequence, locked while a number is taken.

    Taken in the transaction that marks the order paid: a rolled-back payment gives its
    number back with it, so the sequence has no gaps and no number twice.
    """

    scope = models.CharField(max_length=40, unique=True, default="shop")
    last = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.scope}: {self.last}"


class Invoice(models.Model):
    """A paid order's invoice: its number and what it said when issued (never rewritten).

    ``details`` holds the parties (the platform, the sellers, the buyer), the lines with
    net, rate, VAT and gross, and the totals, all as they were at payment.
    """

    order = models.OneToOneField(Order, on_delete=models.PROTECT, related_name="invoice")
    scope = models.CharField(max_length=40, default="shop")
    sequence = models.PositiveIntegerField()
    number = models.CharField(max_length=40, unique=True)
    issued_at = models.DateTimeField()
    details = models.JSONField(default=dict)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "sequence"], name="invoice_sequence_once"),
        ]

    def __str__(self) -> str:
        return self.number
