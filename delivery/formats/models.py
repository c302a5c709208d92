from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from catalog.audio_formats import AUDIO_FORMATS
from catalog.models import Asset
from delivery.models import Entitlement


class Rendition(models.Model):
    """One source (by the SHA-256 of its bytes) in one preset, made once for every buyer.

    ``stored_name`` is set, in the private storage, only once the file is
    complete and tagged (status READY): a buyer is never sent a partial file.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("Waiting")
        RUNNING = "running", _("Converting")
        READY = "ready", _("Ready")
        FAILED = "failed", _("Failed")

    source_sha256 = models.CharField(max_length=64)
    preset = models.CharField(max_length=20, choices=AUDIO_FORMATS)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    stored_name = models.CharField(max_length=255, blank=True)
    size_bytes = models.BigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source_sha256", "preset"], name="rendition_one_per_source_and_preset"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source_sha256[:12]} as {self.preset} ({self.status})"

    @property
    def is_ready(self) -> bool:
        return self.status == self.Status.READY and bool(self.stored_name)


class RenditionWait(models.Model):
    """A buyer waiting for a rendition of one of their files.

    ``seen_at`` moves each time their page polls; a buyer whose page stopped
    polling before the file was ready left, and is mailed (once) when it is.
    """

    rendition = models.ForeignKey(Rendition, on_delete=models.CASCADE, related_name="waits")
    entitlement = models.ForeignKey(Entitlement, on_delete=models.CASCADE, related_name="+")
    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="+")
    seen_at = models.DateTimeField()
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["rendition", "entitlement", "asset"], name="rendition_wait_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.entitlement_id} waits for {self.rendition_id}"


class ZipBuild(models.Model):
    """A whole product as one stored ZIP, for backends that cannot stream one as
    it is built (``x-accel``, ``x-sendfile``, ``s3``): built once in the worker,
    keyed by its entries (names and the SHA-256 of each file)."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Waiting")
        RUNNING = "running", _("Building")
        READY = "ready", _("Ready")
        FAILED = "failed", _("Failed")

    key = models.CharField(max_length=64, unique=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    stored_name = models.CharField(max_length=255, blank=True)
    size_bytes = models.BigIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"zip {self.key[:12]} ({self.status})"

    @property
    def is_ready(self) -> bool:
        return self.status == self.Status.READY and bool(self.stored_name)


class StreamStart(models.Model):
    """A purchase played (or a PDF opened) in the library: counted as a stream,
    never against the download limit. One row per start, not per range request."""

    entitlement = models.ForeignKey(Entitlement, on_delete=models.CASCADE, related_name="+")
    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="+")
    at = models.DateTimeField(db_index=True)
    network = models.CharField(max_length=50, blank=True, default="")

    def __str__(self) -> str:
        return f"{self.asset_id} played at {self.at:%Y-%m-%d %H:%M}"


class StampedCopy(models.Model):
    """One buyer's stamped copy of one ebook file, made once in the worker.

    Keyed by the file's SHA-256 too: a file the seller replaces is another
    file, stamped afresh. ``unstamped`` means the PDF could not be stamped
    (encrypted, damaged): the buyer gets the original and the seller a note.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("Waiting")
        RUNNING = "running", _("Stamping")
        READY = "ready", _("Ready")

    entitlement = models.ForeignKey(Entitlement, on_delete=models.CASCADE, related_name="+")
    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="+")
    source_sha256 = models.CharField(max_length=64)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    stored_name = models.CharField(max_length=255, blank=True)
    size_bytes = models.BigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    unstamped = models.BooleanField(default=False)
    note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["entitlement", "asset", "source_sha256"], name="stamped_copy_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.asset_id} for {self.entitlement_id} ({self.status})"

    @property
    def is_ready(self) -> bool:
        return self.status == self.Status.READY


class FileChecksum(models.Model):
    """The CRC-32 of some bytes, by their SHA-256: what a ZIP's headers need of a file
    before its first byte is sent (``delivery.ziplayout``). Computed once for every
    buyer (a rendition's when it is made, a file's at its first "Download all")."""

    sha256 = models.CharField(max_length=64, primary_key=True)
    crc32 = models.PositiveBigIntegerField()

    def __str__(self) -> str:
        return f"{self.sha256[:12]} crc32 {self.crc32:08x}"

    @staticmethod
    def keep(found: dict[str, int]) -> None:
        """Keep these CRC-32s by SHA-256 (one INSERT; one already kept stays: same bytes)."""
        rows = [FileChecksum(sha256=digest, crc32=crc) for digest, crc in found.items() if digest]
        if rows:
            FileChecksum.objects.bulk_create(rows, ignore_conflicts=True)
