from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from catalog.models import Asset, Product, Seller, currency_validator
from catalog.money import Money
from shop.models import Order


class Campaign(models.Model):
    """An all-or-nothing campaign for one product (the record to be made)."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        LIVE = "live", _("Live")
        SETTLING = "settling", _("Closing")
        SUCCEEDED = "succeeded", _("Funded")
        FAILED = "failed", _("Not funded")

    seller = models.ForeignKey(Seller, on_delete=models.PROTECT, related_name="campaigns")
    product = models.OneToOneField(Product, on_delete=models.PROTECT, related_name="campaign")
    title = models.CharField(max_length=200)
    story = models.TextField(blank=True, help_text="Markdown.")
    goal = models.PositiveIntegerField(help_text="Minor units.")
    currency = models.CharField(max_length=3, validators=[currency_validator])
    deadline = models.DateTimeField()
    release_date = models.DateField()
    samples = models.ManyToManyField(Asset, blank=True, related_name="+")
    # An optional product of backer-only files (a teaser), in backers' libraries on pledging.
    teaser = models.ForeignKey(
        Product, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    # Settlement: decided once (goal met at the deadline), done by whoever holds the lease.
    goal_met = models.BooleanField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    settled_at = models.DateTimeField(null=True, blank=True)
    released_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "deadline"], name="campaign_status_deadline")]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("funding:campaign", kwargs={"campaign": self.pk})

    @property
    def goal_money(self) -> Money:
        return Money(self.goal, self.currency)


class Tier(models.Model):
    """What a pledge gives: fixed at ``minimum``, or any amount from it (``free_amount``)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="tiers")
    title = models.CharField(max_length=120)
    minimum = models.PositiveIntegerField(help_text="Minor units.")
    free_amount = models.BooleanField(default=False)
    cap = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: no limit.")
    rewards = models.TextField(help_text="What a backer gets, in words.")
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "minimum", "pk"]

    def __str__(self) -> str:
        return self.title

    @property
    def minimum_money(self) -> Money:
        return Money(self.minimum, self.campaign.currency)


class Pledge(models.Model):
    """A backer's promise: a saved card, charged at the deadline if the goal is met."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Saving the card")
        ACTIVE = "active", _("Card saved")
        CANCELLED = "cancelled", _("Cancelled")
        CHARGING = "charging", _("Being charged")
        CHARGED = "charged", _("Charged")
        RECOVERING = "recovering", _("Payment needed")
        DROPPED = "dropped", _("Dropped (not paid)")
        RELEASED = "released", _("Not charged (goal missed)")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="pledges")
    tier = models.ForeignKey(Tier, on_delete=models.PROTECT, related_name="pledges")
    email = models.EmailField(max_length=254)
    # The backer's language when they pledged: every mail and the edition line speak it.
    language = models.CharField(max_length=10, blank=True, default="")
    amount = models.PositiveIntegerField(help_text="Minor units.")
    currency = models.CharField(max_length=3)
    # What the tier promised when the backer chose it: a later edit never lowers it.
    promised = models.TextField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    number = models.PositiveIntegerField(null=True, blank=True, help_text="Backer #n.")
    wall_name = models.CharField(max_length=80, blank=True, help_text="Shown only if given.")
    provider = models.CharField(max_length=20)
    setup_session_id = models.CharField(max_length=255, blank=True)
    customer_id = models.CharField(max_length=255, blank=True)
    payment_method_id = models.CharField(max_length=255, blank=True)
    order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.PROTECT, related_name="pledges"
    )
    # The off-session PaymentIntent of the deadline's charge, whatever it answered; after a
    # failure it is cancelled before the backer pays on session, so it can never charge too.
    payment_intent = models.CharField(max_length=255, blank=True, default="")
    payment_intent_cancelled = models.BooleanField(default=False)
    failure_reason = models.CharField(max_length=300, blank=True)
    recover_until = models.DateTimeField(null=True, blank=True)
    teaser_granted = models.BooleanField(default=False)
    released_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "number"],
                condition=Q(number__isnull=False),
                name="pledge_number_once_per_campaign",
            ),
        ]
        indexes = [models.Index(fields=["campaign", "status"], name="pledge_campaign_status")]

    def __str__(self) -> str:
        return f"{self.email} → {self.campaign}"

    @property
    def amount_money(self) -> Money:
        return Money(self.amount, self.currency)


# Pledges that hold a place in their tier and count toward the goal.
HOLDING = (
    Pledge.Status.ACTIVE,
    Pledge.Status.CHARGING,
    Pledge.Status.CHARGED,
    Pledge.Status.RECOVERING,
)


class PledgeLink(models.Model):
    """A mailed magic link to one pledge; only the token's SHA-256 is kept."""

    pledge = models.ForeignKey(Pledge, on_delete=models.CASCADE, related_name="links")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"link to pledge {self.pledge_id}"


class CampaignUpdate(models.Model):
    """News mailed to every backer."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="updates")
    subject = models.CharField(max_length=150)
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.subject


class StretchGoal(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="stretch_goals")
    amount = models.PositiveIntegerField(help_text="Minor units.")
    description = models.CharField(max_length=300)

    class Meta:
        ordering = ["amount"]

    def __str__(self) -> str:
        return self.description
