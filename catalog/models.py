from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.db.models.fields.files import FieldFile
from django.utils.translation import gettext_lazy as _

from catalog.audio_formats import all_audio_formats
from catalog.currencies import chargeable_currencies
from catalog.license_format import DEFAULT_PATTERN
from catalog.money import Money
from catalog.paths import path_to
from catalog.storage import private_storage, public_storage

currency_validator = RegexValidator(r"^[A-Z]{3}$", "Use a three-letter ISO 4217 code, like EUR.")


def _cover_path(instance: models.Model, filename: str) -> str:
    return f"covers/{uuid.uuid4().hex}/{filename}"


def _avatar_path(instance: models.Model, filename: str) -> str:
    return f"avatars/{uuid.uuid4().hex}/{filename}"


def _suffix(filename: str) -> str:
    # The stored name never reuses what the seller typed: only the extension.
    suffix = filename.rsplit(".", 1)[-1].lower()[:10] if "." in filename else ""
    return suffix if suffix.isalnum() else "bin"


def asset_path(filename: str) -> str:
    """A new stored name for a file for buyers (private storage): only the extension is kept."""
    return f"assets/{uuid.uuid4().hex}.{_suffix(filename)}"


def preview_path(filename: str) -> str:
    """A new stored name for a public preview (public storage)."""
    return f"previews/{uuid.uuid4().hex}.{_suffix(filename)}"


# The fields' upload_to; migrations name these two, so they keep their names.
def _asset_path(instance: Asset, filename: str) -> str:
    return asset_path(filename)


def _preview_path(instance: Asset, filename: str) -> str:
    return preview_path(filename)


class Seller(models.Model):
    class TaxBehavior(models.TextChoices):
        # French sellers think in TTC: a price already holds the VAT the buyer owes.
        INCLUSIVE = "inclusive", _("My prices include VAT")
        EXCLUSIVE = "exclusive", _("VAT is added to my prices at checkout")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="seller"
    )
    slug = models.SlugField(max_length=60, unique=True)
    display_name = models.CharField(max_length=120)
    bio = models.TextField(blank=True, help_text="Markdown.")
    avatar = models.ImageField(upload_to=_avatar_path, storage=public_storage, blank=True)
    currency = models.CharField(max_length=3, default="EUR", validators=[currency_validator])
    timezone = models.CharField(max_length=64, default="UTC")
    # The language of the mails the seller gets (sales, verification); set at sign-up.
    language = models.CharField(max_length=8, blank=True)
    payout_account_id = models.CharField(
        max_length=64, blank=True, help_text="Stripe Connect account id (acct_...)."
    )
    # A band, label or studio rather than one person: search engines read the
    # seller page as a schema.org Organization then (catalog/seo).
    is_organization = models.BooleanField(default=False)
    # How Stripe Tax reads the seller's prices (only with STRIPE_AUTOMATIC_TAX on).
    tax_behavior = models.CharField(
        max_length=10,
        choices=TaxBehavior.choices,
        default=TaxBehavior.INCLUSIVE,
        db_default=TaxBehavior.INCLUSIVE,
    )
    # Printed on invoices beside the platform's (which sells, as the seller of record).
    legal_name = models.CharField(max_length=200, blank=True, db_default="")
    legal_address = models.TextField(blank=True, db_default="")
    vat_number = models.CharField(max_length=20, blank=True, db_default="")
    # A few public web addresses (site, shop elsewhere, social), http(s) only.
    links = models.JSONField(default=list, blank=True)
    # Set when the seller opened the signed link sent to the account's email.
    # Unverified sellers can prepare everything but publish nothing.
    email_verified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["display_name"]

    def __str__(self) -> str:
        return self.display_name

    def get_absolute_url(self) -> str:
        return path_to("catalog:seller", seller=self.slug)

    @property
    def is_verified(self) -> bool:
        return self.email_verified_at is not None


class Tag(models.Model):
    """A shared, lower-case label ("ambient", "cookbook") that products carry."""

    slug = models.SlugField(max_length=40, unique=True, allow_unicode=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug


class Product(models.Model):
    class Kind(models.TextChoices):
        EBOOK = "ebook", _("Ebook")
        MUSIC = "music", _("Music")
        VIDEO = "video", _("Video")
        BUNDLE = "bundle", _("Bundle of files")

    class Pricing(models.TextChoices):
        FIXED = "fixed", _("Fixed price")
        PWYW = "pwyw", _("Pay what you want")
        FREE = "free", _("Free")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")
        UNLISTED = "unlisted", _("Unlisted")
        ARCHIVED = "archived", _("Archived")

    seller = models.ForeignKey(Seller, on_delete=models.PROTECT, related_name="products")
    slug = models.SlugField(max_length=80)
    title = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.BUNDLE)
    description = models.TextField(blank=True, help_text="Markdown.")
    cover = models.ImageField(upload_to=_cover_path, storage=public_storage, blank=True)
    pricing = models.CharField(max_length=10, choices=Pricing.choices, default=Pricing.FIXED)
    # Minor units of `currency`. FIXED uses price; PWYW uses price as the minimum
    # and suggested_price as the pre-filled amount; FREE ignores both.
    price = models.PositiveIntegerField(default=0)
    suggested_price = models.PositiveIntegerField(null=True, blank=True)
    currency = models.CharField(max_length=3, default="EUR", validators=[currency_validator])
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    release_date = models.DateField(null=True, blank=True)
    tags = models.ManyToManyField(Tag, blank=True, related_name="products")
    # Keys of catalog.audio_formats.AUDIO_FORMATS a lossless file is offered in
    # (besides its original); lossy files are always delivered as they are.
    audio_formats = models.JSONField(default=all_audio_formats, blank=True)
    # Each buyer's PDFs carry "Licensed to <name or email> — order <number>".
    stamp_ebooks = models.BooleanField(default=False)
    # Downloads each buyer gets per file; empty means unlimited (delivery's gate reads
    # each purchase's own copy, set from this at purchase and when the seller changes it).
    download_limit = models.PositiveIntegerField(null=True, blank=True)
    # A license key with each sale (delivery/licenses), made from this pattern
    # (catalog/license_format.py); each key copies the activation limit when minted.
    license_keys = models.BooleanField(default=False)
    license_format = models.CharField(max_length=64, default=DEFAULT_PATTERN, blank=True)
    license_max_activations = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["seller", "slug"], name="product_slug_per_seller"),
            models.CheckConstraint(
                condition=Q(pricing="fixed", price__gt=0) | ~Q(pricing="fixed"),
                name="product_fixed_price_positive",
            ),
            models.CheckConstraint(
                condition=Q(suggested_price__isnull=True)
                | Q(suggested_price__gte=models.F("price")),
                name="product_suggestion_not_below_minimum",
            ),
        ]
        indexes = [models.Index(fields=["status", "-created_at"])]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return path_to("catalog:product", seller=self.seller.slug, product=self.slug)

    @property
    def is_buyable(self) -> bool:
        return self.status in (self.Status.PUBLISHED, self.Status.UNLISTED)

    @property
    def chargeable(self) -> bool:
        """Whether checkout can charge this product's currency (see catalog.currencies)."""
        return self.currency in chargeable_currencies()

    @property
    def minimum(self) -> Money:
        return Money(0 if self.pricing == self.Pricing.FREE else self.price, self.currency)

    @property
    def display_price(self) -> Money:
        if self.pricing == self.Pricing.PWYW and self.suggested_price:
            return Money(self.suggested_price, self.currency)
        return self.minimum


class Asset(models.Model):
    class Role(models.TextChoices):
        DELIVERABLE = "deliverable", _("Deliverable (bought)")
        PREVIEW = "preview", _("Preview (public sample)")

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="assets")
    role = models.CharField(max_length=12, choices=Role.choices, default=Role.DELIVERABLE)
    position = models.PositiveIntegerField(default=0, validators=[MinValueValidator(0)])
    # Exactly one of the two is set: a deliverable's bytes sit in the private
    # storage (no URL), a preview's in the public one so that the browser's own
    # players can fetch it. See `stored`.
    file = models.FileField(
        upload_to=_asset_path, storage=private_storage, max_length=255, blank=True
    )
    public_file = models.FileField(
        upload_to=_preview_path, storage=public_storage, max_length=255, blank=True
    )
    original_filename = models.CharField(max_length=255)
    size_bytes = models.BigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    mime_type = models.CharField(max_length=100, default="application/octet-stream")
    kind = models.CharField(max_length=20, blank=True, help_text="Detected from the content.")
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["product", "role", "position", "id"]
        indexes = [models.Index(fields=["product", "role", "position"])]
        constraints = [
            models.CheckConstraint(
                condition=(Q(role="deliverable") & ~Q(file="") & Q(public_file=""))
                | (Q(role="preview") & Q(file="") & ~Q(public_file="")),
                name="asset_preview_public_deliverable_private",
            ),
        ]

    def __str__(self) -> str:
        return self.original_filename

    @property
    def stored(self) -> FieldFile:
        """The file whichever storage holds it (private for deliverables, public for previews)."""
        return self.public_file if self.role == self.Role.PREVIEW else self.file

    @property
    def player(self) -> str:
        """Which of the browser's players can show this preview: audio, video or ''."""
        if self.kind in ("audio", "video") or self.mime_type.startswith(("audio/", "video/")):
            return "video" if self.mime_type.startswith("video/") else "audio"
        return ""


class UploadSession(models.Model):
    """A resumable upload in progress; the wire protocol is in ``catalog.uploads``.

    ``storage_name`` is where the bytes accumulate in the private storage: a
    growing ``.part`` file (local backend) or the key of an S3 multipart upload.
    """

    class Backend(models.TextChoices):
        LOCAL = "local", _("Local disk")
        S3 = "s3", "S3 multipart"

    class Status(models.TextChoices):
        RECEIVING = "receiving", _("Receiving")
        FINISHING = "finishing", _("Being checked")
        COMPLETE = "complete", _("Complete")
        REFUSED = "refused", _("Refused")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    seller = models.ForeignKey(Seller, on_delete=models.CASCADE, related_name="uploads")
    # What the bytes become once complete; a later catalog import needs no product.
    product = models.ForeignKey(
        Product, on_delete=models.CASCADE, null=True, blank=True, related_name="uploads"
    )
    role = models.CharField(max_length=12, choices=Asset.Role.choices, blank=True)
    filename = models.CharField(max_length=255)
    size_bytes = models.BigIntegerField(validators=[MinValueValidator(1)])
    received_bytes = models.BigIntegerField(default=0)
    backend = models.CharField(max_length=8, choices=Backend.choices)
    storage_name = models.CharField(max_length=255)
    s3_upload_id = models.CharField(max_length=255, blank=True)
    part_size = models.BigIntegerField(default=0)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVING)
    error = models.CharField(max_length=500, blank=True)
    asset = models.OneToOneField(
        Asset, on_delete=models.SET_NULL, null=True, blank=True, related_name="upload"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(received_bytes__gte=0) & Q(received_bytes__lte=models.F("size_bytes")),
                name="upload_received_within_size",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.filename} ({self.received_bytes}/{self.size_bytes})"


class ImportJob(models.Model):
    """One import of a whole catalog (a ZIP or a folder); the format is in ``catalog/imports.py``.

    ``source`` is where the catalog is read from: the private-storage name of an
    uploaded ZIP, or a path on the server (the command). ``report`` holds the
    plan, then the outcome row by row, as JSON.
    """

    class Status(models.TextChoices):
        PLANNING = "planning", _("Being checked")
        PLANNED = "planned", _("Checked, not imported")
        QUEUED = "queued", _("Waiting to start")
        RUNNING = "running", _("Importing")
        DONE = "done", _("Finished")
        FAILED = "failed", _("Failed")

    seller = models.ForeignKey(Seller, on_delete=models.CASCADE, related_name="imports")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PLANNED)
    source = models.CharField(max_length=500)
    source_name = models.CharField(max_length=255, blank=True)
    dry_run = models.BooleanField(default=False)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    failed_count = models.PositiveIntegerField(default=0)
    report = models.JSONField(default=dict, blank=True)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.source_name or self.source} ({self.status})"

    @property
    def percent(self) -> int:
        return round(100 * self.processed_rows / self.total_rows) if self.total_rows else 0
