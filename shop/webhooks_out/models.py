from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from catalog.models import Seller


class Endpoint(models.Model):
    """An address of a seller's that receives the events it subscribed to, signed.

    ``secret`` signs every delivery (kept as is: an HMAC needs it). After a
    roll, ``previous_secret`` still signs beside the new one until
    ``previous_until``, so a receiver can change its key without losing one.
    """

    seller = models.ForeignKey(Seller, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.CharField(_("address"), max_length=500)
    description = models.CharField(_("description"), max_length=200, blank=True)
    events = models.JSONField(_("events"), default=list)
    enabled = models.BooleanField(_("enabled"), default=True)
    # Why it is off: "" (on, or turned off by the seller) or "failing" (by the shop).
    disabled_reason = models.CharField(max_length=20, blank=True)
    secret = models.CharField(max_length=80)
    previous_secret = models.CharField(max_length=80, blank=True)
    previous_until = models.DateTimeField(null=True, blank=True)
    # The first failure of the current run of failures; None after a success.
    failing_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.url


class Event(models.Model):
    """One event of a seller's, as sent: ``body`` is the exact JSON signed each time."""

    public_id = models.CharField(max_length=40, unique=True)
    seller = models.ForeignKey(Seller, on_delete=models.CASCADE, related_name="webhook_events")
    type = models.CharField(max_length=40)
    key = models.CharField(max_length=200, unique=True)
    body = models.TextField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.public_id} ({self.type})"


class Delivery(models.Model):
    """One event to one endpoint, tried until it succeeds or three days pass.

    ``next_attempt_at`` is when a sweep next looks: the next retry of a
    pending delivery, or the end of the lease of one being sent (a sender
    that died leaves it "sending" until then).
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        SENDING = "sending", _("Sending")
        SUCCEEDED = "succeeded", _("Delivered")
        FAILED = "failed", _("Failed")

    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    replay_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="webhook_delivery_due",
                condition=Q(status__in=["pending", "sending"]),
            )
        ]

    def __str__(self) -> str:
        return f"{self.event_id} → {self.endpoint_id} ({self.status})"


class Attempt(models.Model):
    """One try of a delivery: what the receiver answered, or why nothing was sent."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="tries")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    excerpt = models.TextField(blank=True)
    succeeded = models.BooleanField(default=False)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["delivery", "number"], name="webhook_attempt_once")
        ]

    def __str__(self) -> str:
        return f"attempt {self.number} of {self.delivery_id}"
