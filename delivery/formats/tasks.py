"""The worker's side of renditions: make one, and tell those who should know."""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import zlib
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.mail import send_mail
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tasks import task

from catalog.inspection import MediaRefused, audio
from catalog.inspection.sandbox import Limits, run_bounded
from catalog.mail import mail_task
from catalog.models import Asset
from catalog.uploads.backends import private_files
from delivery.formats.models import FileChecksum, Rendition, RenditionWait, StampedCopy
from delivery.formats.presets import PRESETS, Preset
from delivery.formats.transcode import Bounds, Cover, TranscodeFailed, transcode, write_tags
from delivery.services import library_link_create
from delivery.stamping import StampRefused, stamp_epub, stamp_pdf, stamp_text

log = logging.getLogger(__name__)

# A page that has not polled for this long was closed: its buyer gets an email.
LEFT_AFTER = timedelta(seconds=20)
_CHUNK = 1024 * 1024


@task()
def rendition_make_task(*, rendition_id: int, asset_id: int) -> None:
    """ffmpeg and mutagen for one rendition; idempotent (a claimed or finished one is left)."""
    rendition_make(rendition_id=rendition_id, asset_id=asset_id)


@mail_task
def rendition_ready_mail(*, wait_id: int) -> None:
    """To a buyer who left the page: the file is ready (or could not be made)."""
    wait = RenditionWait.objects.select_related(
        "rendition", "asset", "entitlement__library", "entitlement__product"
    ).get(pk=wait_id)
    library = wait.entitlement.library
    token = library_link_create(library=library)
    url = settings.SITE_URL + reverse("delivery:library", kwargs={"token": token})
    rendition = wait.rendition
    context = {
        "url": url,
        "file": wait.asset.original_filename,
        "format": PRESETS[rendition.preset].label,
        "product": wait.entitlement.product.title,
        "ready": rendition.is_ready,
        "error": rendition.error,
    }
    if rendition.is_ready:
        subject = _("Your file is ready: %(file)s (%(format)s)") % context
    else:
        subject = _("Your file could not be converted: %(file)s (%(format)s)") % context
    send_mail(
        subject=subject,
        message=render_to_string("delivery/email/rendition_ready.txt", context),
        from_email=None,
        recipient_list=[library.email],
    )


@mail_task
def rendition_failed_seller_mail(*, rendition_id: int, asset_id: int) -> None:
    """To the seller: a buyer asked for a format of this file and it could not be made."""
    rendition = Rendition.objects.get(pk=rendition_id)
    asset = Asset.objects.select_related("product__seller__user").get(pk=asset_id)
    seller = asset.product.seller
    context = {
        "file": asset.original_filename,
        "product": asset.product.title,
        "format": PRESETS[rendition.preset].label,
        "error": rendition.error,
    }
    send_mail(
        subject=_("A file of “%(product)s” could not be converted to %(format)s") % context,
        message=render_to_string("delivery/email/rendition_failed_seller.txt", context),
        from_email=None,
        recipient_list=[seller.user.email],
    )


# --- the work -------------------------------------------------------------------


def _claim(rendition_id: int) -> bool:
    """Take the rendition for this worker: only one makes it."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.TRANSCODE_SECONDS + 60)
    waiting = Q(status=Rendition.Status.QUEUED) | Q(
        status=Rendition.Status.RUNNING, updated_at__lt=stale
    )
    claimed = Rendition.objects.filter(waiting, pk=rendition_id).update(
        status=Rendition.Status.RUNNING, progress=0, updated_at=now
    )
    return claimed == 1


def _local_source(name: str, workdir: str, suffix: str) -> str:
    """A path ffmpeg can seek in: the stored file itself on a local disk, else a copy."""
    handle = private_files().file_open(name)
    try:
        path = getattr(getattr(handle, "file", None), "name", None)
        if isinstance(path, str) and os.path.isfile(path):
            return path
        copy = os.path.join(workdir, "source" + suffix)
        with open(copy, "wb") as out:
            for chunk in handle.chunks(_CHUNK):
                out.write(chunk)
        return copy
    finally:
        handle.close()


def _digests(path: str) -> tuple[str, int, int]:
    """The file's SHA-256, size and CRC-32 (what a ZIP's headers need of it:
    ``delivery.ziplayout``), from one read."""
    digest, size, crc32 = hashlib.sha256(), 0, 0
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
            crc32 = zlib.crc32(chunk, crc32)
    return digest.hexdigest(), size, crc32


def _progress(rendition_id: int) -> Callable[[int], None]:
    def report(percent: int) -> None:
        Rendition.objects.filter(pk=rendition_id, status=Rendition.Status.RUNNING).update(
            progress=percent, updated_at=timezone.now()
        )

    return report


def _check_output(path: str, preset: Preset, expected: float | None) -> None:
    """The output reads back as audio of the source's length (never a truncated file)."""
    try:
        facts = run_bounded(audio.read, path, _reader_mime(preset), limits=Limits(seconds=30))
    except MediaRefused as refused:
        raise TranscodeFailed(
            _("The converted file is not valid: %(reason)s") % {"reason": refused.reason}
        ) from None
    got = facts.duration_seconds or 0.0
    if expected and abs(got - expected) > max(1.0, expected * 0.01):
        raise TranscodeFailed(
            _("The converted file lasts %(got).1f s instead of %(expected).1f s.")
            % {"got": got, "expected": expected}
        )


def _reader_mime(preset: Preset) -> str:
    return "audio/ogg" if preset.mime.startswith("audio/ogg") else preset.mime


def rendition_make(*, rendition_id: int, asset_id: int) -> Rendition:
    """Make a claimed rendition; READY with its stored file, or FAILED saying why."""
    rendition = Rendition.objects.get(pk=rendition_id)
    if not _claim(rendition_id):
        return rendition
    asset = Asset.objects.get(pk=asset_id)
    preset = PRESETS[rendition.preset]
    try:
        if asset.sha256 != rendition.source_sha256:
            raise TranscodeFailed(_("The seller replaced this file; ask for it again."))
        stored_name = _make(rendition, asset, preset)
    except TranscodeFailed as failed:
        Rendition.objects.filter(pk=rendition_id).update(
            status=Rendition.Status.FAILED,
            error=failed.reason[:500],
            finished_at=timezone.now(),
            updated_at=timezone.now(),
        )
        log.warning("Rendition %s (%s) failed: %s", rendition_id, preset.key, failed.reason)
        _announce(rendition_id, asset_id=asset.pk, failed=True)
    else:
        log.info("Rendition %s (%s) stored as %s", rendition_id, preset.key, stored_name)
        _announce(rendition_id, asset_id=asset.pk, failed=False)
    rendition.refresh_from_db()
    return rendition


def _make(rendition: Rendition, asset: Asset, preset: Preset) -> str:
    with tempfile.TemporaryDirectory(prefix="echoppe-transcode-") as workdir:
        source = _local_source(asset.file.name or "", workdir, Path(asset.file.name or "").suffix)
        try:
            facts = run_bounded(audio.read, source, asset.mime_type)
        except MediaRefused as refused:
            raise TranscodeFailed(refused.reason) from None
        output = os.path.join(workdir, f"out.{preset.extension}")
        transcode(
            ffmpeg=settings.FFMPEG_BINARY,
            source=source,
            output=output,
            preset=preset,
            duration=facts.duration_seconds,
            channels=facts.channels,
            bounds=Bounds(
                seconds=settings.TRANSCODE_SECONDS,
                memory_bytes=settings.TRANSCODE_MEMORY_BYTES,
                output_bytes=max(asset.size_bytes * 4, 64 * 1024 * 1024),
            ),
            on_progress=_progress(rendition.pk),
        )
        cover = None
        if facts.cover is not None:
            art = facts.cover
            cover = Cover(data=art.data, mime=art.mime, width=art.width, height=art.height)
        try:
            write_tags(output, preset=preset, tags=dict(facts.tags), cover=cover)
        except TranscodeFailed:
            raise
        except Exception as error:  # mutagen's own errors on a file ffmpeg just wrote
            raise TranscodeFailed(
                _("The tags could not be written: %(error)s") % {"error": error}
            ) from None
        _check_output(output, preset, facts.duration_seconds)
        digest, size, crc32 = _digests(output)
        FileChecksum.keep({digest: crc32})
        source_hash = rendition.source_sha256
        name = f"renditions/{source_hash[:2]}/{source_hash}/{preset.key}.{preset.extension}"
        with open(output, "rb") as handle:
            stored = private_files().file_save(name, File(handle, name=os.path.basename(name)))
    updated = Rendition.objects.filter(pk=rendition.pk, status=Rendition.Status.RUNNING).update(
        status=Rendition.Status.READY,
        progress=100,
        stored_name=stored,
        size_bytes=size,
        sha256=digest,
        error="",
        finished_at=timezone.now(),
        updated_at=timezone.now(),
    )
    if not updated:  # taken over as stale meanwhile: keep the storage clean
        private_files().file_delete(stored)
        raise TranscodeFailed(_("The conversion was restarted elsewhere."))
    return stored


def _announce(rendition_id: int, *, asset_id: int, failed: bool) -> None:
    """Mail the buyers who left their page (once each), and the seller on a failure."""
    now = timezone.now()
    left = RenditionWait.objects.filter(
        rendition_id=rendition_id, notified_at__isnull=True, seen_at__lt=now - LEFT_AFTER
    )
    wait_ids = list(left.values_list("pk", flat=True))
    RenditionWait.objects.filter(pk__in=wait_ids).update(notified_at=now)
    for wait_id in wait_ids:
        rendition_ready_mail.enqueue(wait_id=wait_id)
    if failed:
        rendition_failed_seller_mail.enqueue(rendition_id=rendition_id, asset_id=asset_id)


# --- stamped ebooks ------------------------------------------------------------------


@task()
def stamp_make_task(*, copy_id: int) -> None:
    """Stamp one buyer's copy; an ebook that cannot be stamped is delivered as it is."""
    claimed = StampedCopy.objects.filter(pk=copy_id, status=StampedCopy.Status.QUEUED).update(
        status=StampedCopy.Status.RUNNING, updated_at=timezone.now()
    )
    if not claimed:
        return
    copy = StampedCopy.objects.select_related(
        "asset", "entitlement__library__user", "entitlement__product"
    ).get(pk=copy_id)
    asset = copy.asset
    licensee, line = stamp_text(copy.entitlement)
    try:
        with tempfile.TemporaryDirectory(prefix="echoppe-stamp-") as workdir:
            suffix = Path(asset.file.name or "").suffix
            source = _local_source(asset.file.name or "", workdir, suffix)
            epub = asset.mime_type == "application/epub+zip"
            extension = "epub" if epub else "pdf"
            output = os.path.join(workdir, f"stamped.{extension}")
            (stamp_epub if epub else stamp_pdf)(source, output, licensee=licensee, line=line)
            digest, size, _crc32 = _digests(output)
            name = f"stamped/{asset.sha256[:2]}/{asset.sha256}/{copy.entitlement_id}.{extension}"
            with open(output, "rb") as handle:
                stored = private_files().file_save(name, File(handle, name=f"stamped.{extension}"))
    except StampRefused as refused:
        StampedCopy.objects.filter(pk=copy_id).update(
            status=StampedCopy.Status.READY,
            unstamped=True,
            note=refused.reason[:500],
            updated_at=timezone.now(),
        )
        stamp_refused_seller_mail.enqueue(copy_id=copy_id)
        return
    StampedCopy.objects.filter(pk=copy_id).update(
        status=StampedCopy.Status.READY,
        stored_name=stored,
        size_bytes=size,
        sha256=digest,
        updated_at=timezone.now(),
    )


@mail_task
def stamp_refused_seller_mail(*, copy_id: int) -> None:
    """To the seller: a buyer received this PDF unstamped, and why."""
    copy = StampedCopy.objects.select_related("asset__product__seller__user").get(pk=copy_id)
    product = copy.asset.product
    context = {"file": copy.asset.original_filename, "product": product.title, "note": copy.note}
    send_mail(
        subject=_("“%(file)s” was delivered without its stamp") % context,
        message=render_to_string("delivery/email/stamp_refused_seller.txt", context),
        from_email=None,
        recipient_list=[product.seller.user.email],
    )


@mail_task
def product_update_mail(*, library_id: int, product_id: int) -> None:
    """To one past buyer: the seller updated a product they own (a fresh library link)."""
    from catalog.models import Product
    from delivery.models import Library

    library = Library.objects.get(pk=library_id)
    product = Product.objects.select_related("seller").get(pk=product_id)
    token = library_link_create(library=library)
    url = settings.SITE_URL + reverse("delivery:library", kwargs={"token": token})
    context = {"product": product.title, "seller": product.seller.display_name, "url": url}
    send_mail(
        subject=_("“%(product)s” was updated") % context,
        message=render_to_string("delivery/email/product_updated.txt", context),
        from_email=None,
        recipient_list=[library.email],
    )
