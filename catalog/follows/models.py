from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from catalog.models import Product, Seller


class Follow(models.Model):
    """One address following one seller; mailed only once confirmed and not unsubscribed."""

    seller = models.ForeignKey(Seller, on_delete=models.CASCADE, related_name="follows")
    email = models.EmailField(max_length=254)  # normalized (catalog.accounts.email_normalize)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="follows",
    )
    # The language they followed in: the confirmation and every release mail speak it.
    language = models.CharField(max_length=10, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["seller", "email"], name="follow_once_per_address")
        ]
        indexes = [
            models.Index(
                fields=["seller"],
                name="follow_active_by_seller",
                condition=Q(confirmed_at__isnull=False, unsubscribed_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"{self.email} → {self.seller}"

    @property
    def active(self) -> bool:
        return self.confirmed_at is not None and self.unsubscribed_at is None


class ReleaseMail(models.Model):
    """The new-release mail of one product to one follower: at most one, ever."""

    follow = models.ForeignKey(Follow, on_delete=models.CASCADE, related_name="release_mails")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="release_mails")
    created_at = models.DateTimeField(auto_now_add=True)
    # Set when a worker takes the mail (before sending); cleared again if sending failed.
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["follow", "product"], name="release_mail_once")
        ]

    def __str__(self) -> str:
        return f"{self.product} → {self.follow.email}"
