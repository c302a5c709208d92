from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from catalog.models import Product
from delivery.models import Entitlement


class LicenseKey(models.Model):
    """The license key of one purchase (the package docstring says how it is used)."""

    entitlement = models.OneToOneField(
        Entitlement, on_delete=models.CASCADE, related_name="license_key"
    )
    # The entitlement's product, kept here: verifying and the seller's lists filter on it.
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="licenses")
    key = models.CharField(max_length=64)
    key_hash = models.CharField(max_length=64, unique=True)
    max_uses = models.PositiveIntegerField(null=True, blank=True)
    uses = models.PositiveIntegerField(default=0)
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["product", "-created_at"], name="licensekey_product")]
        constraints = [
            models.CheckConstraint(
                condition=Q(max_uses__isnull=True) | Q(uses__lte=models.F("max_uses")),
                name="licensekey_uses_within_limit",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.product})"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def is_refunded(self) -> bool:
        return self.entitlement.status == Entitlement.Status.REVOKED


class LicenseActivation(models.Model):
    """One named instance (a machine, an install) that activated a key: counted once."""

    license = models.ForeignKey(LicenseKey, on_delete=models.CASCADE, related_name="activations")
    instance = models.CharField(_("instance"), max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["license", "instance"], name="licenseactivation_once_per_instance"
            ),
        ]

    def __str__(self) -> str:
        return self.instance
