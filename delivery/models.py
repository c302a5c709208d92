from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from catalog.models import Asset, Product


class Library(models.Model):
    """Everything one buyer (one email address) owns."""

    email = models.EmailField(max_length=254)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="libraries",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "libraries"
        constraints = [
            models.UniqueConstraint(Lower("email"), name="library_email_unique_ci"),
        ]

    def __str__(self) -> str:
        return self.email


class LibraryLink(models.Model):
    """A long-lived, revocable way into a library without a password.

    Only a SHA-256 of the token is stored: a database leak gives no working link.
    """

    library = models.ForeignKey(Library, on_delete=models.CASCADE, related_name="links")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"link to {self.library.email}"


class Entitlement(models.Model):
    """The right to download one product's files, granted by one paid order item."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        REVOKED = "revoked", _("Revoked")

    library = models.ForeignKey(Library, on_delete=models.PROTECT, related_name="entitlements")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="entitlements")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    revoked_reason = models.CharField(max_length=200, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    download_limit = models.PositiveIntegerField(
        null=True, blank=True, help_text="Downloads allowed per file; empty means unlimited."
    )
    # A line under the title in the library ("Backer #17 of 250").
    note = models.CharField(max_length=200, blank=True, db_default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["library", "status"])]

    def __str__(self) -> str:
        return f"{self.library.email} → {self.product}"

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


class Download(models.Model):
    """A request for a file's bytes. `counted` marks those that use up the limit.

    A counted row opens a ``DOWNLOAD_WINDOW_SECONDS`` window for its entitlement
    and file: later requests inside it are resumes. A resume is logged only
    from a network not yet seen in the window (the sharing flag needs each
    network, not each range request of a download manager).
    """

    # No index of its own: (entitlement, asset, -at) below starts with it, and
    # every index is one more b-tree page written by each download's insert.
    entitlement = models.ForeignKey(
        Entitlement, on_delete=models.CASCADE, related_name="downloads", db_index=False
    )
    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="downloads")
    at = models.DateTimeField(db_index=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    # The /24 (IPv4) or /48 (IPv6) around `ip`: one household, office or
    # phone carrier. Stored, not derived, so spotting a link used from many
    # networks is one GROUP BY on any database.
    network = models.CharField(max_length=50, blank=True, default="")
    user_agent = models.CharField(max_length=300, blank=True)
    range_header = models.CharField(max_length=100, blank=True)
    counted = models.BooleanField(default=False)
    # The n-th counted download of this entitlement and file (1, 2, ...); empty
    # when not counted. Unique, so two parallel first requests cannot both be
    # number n: the second one's insert conflicts and it becomes a resume.
    number = models.PositiveIntegerField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-at"]
        indexes = [
            models.Index(fields=["entitlement", "asset", "-at"]),
            # Answers "counted in this window?" without reading the uncounted rows.
            models.Index(
                fields=["entitlement", "asset", "at"],
                condition=models.Q(counted=True),
                name="download_counted_window",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["entitlement", "asset", "number"],
                condition=models.Q(counted=True),
                name="download_counted_number_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.asset} at {self.at:%Y-%m-%d %H:%M}"
