"""Writes for renditions: ask for one, wait on one, make one (the task's body)."""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.inspection import MediaRefused, audio
from catalog.inspection.sandbox import Limits, run_bounded
from catalog.models import Asset
from catalog.uploads.backends import private_files
from delivery.formats.models import Rendition, RenditionWait
from delivery.formats.presets import PRESETS, Preset, is_lossless
from delivery.formats.transcode import Bounds, Cover, TranscodeFailed, transcode, write_tags
from delivery.models import Entitlement

log = logging.getLogger(__name__)

# A page that has not polled for this long was closed: its buyer gets an email.
LEFT_AFTER = timedelta(seconds=20)
# A failed rendition is tried again on a request this long after (ffmpeg installed since...).
RETRY_FAILED_AFTER = timedelta(minutes=10)
_CHUNK = 1024 * 1024


class FormatUnavailable(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def asset_is_lossless(asset: Asset) -> bool:
    codec = (asset.metadata or {}).get("codec") if isinstance(asset.metadata, dict) else None
    return is_lossless(mime=asset.mime_type, codec=codec)


def formats_offered(*, asset: Asset, product_formats: list[str] | None) -> list[Preset]:
    """The presets a buyer may pick for ``asset`` (none for a lossy or non-audio file)."""
    if not asset.sha256 or not asset_is_lossless(asset):
        return []
    chosen = set(product_formats or [])
    return [preset for key, preset in PRESETS.items() if key in chosen]


def preset_check(*, asset: Asset, product_formats: list[str] | None, key: str) -> Preset:
    """The preset ``key`` if the product offers it for this file; else FormatUnavailable."""
    for preset in formats_offered(asset=asset, product_formats=product_formats):
        if preset.key == key:
            return preset
    raise FormatUnavailable(_("This file is not offered in that format."))


def _stale(rendition: Rendition, now: datetime) -> bool:
    if rendition.status == Rendition.Status.FAILED:
        return now - rendition.updated_at > RETRY_FAILED_AFTER
    if rendition.status == Rendition.Status.RUNNING:
        # A worker that died mid-way: its task is given up on after its own bound.
        return now - rendition.updated_at > timedelta(seconds=settings.TRANSCODE_SECONDS + 60)
    return False


def rendition_request(*, asset: Asset, preset: Preset, entitlement: Entitlement) -> Rendition:
    """The rendition of ``asset`` in ``preset``, queued for the worker if it is
    new (or failed a while ago), and this buyer marked as waiting for it."""
    from delivery.formats.tasks import rendition_make_task

    now = timezone.now()
    with transaction.atomic():
        rendition, created = Rendition.objects.get_or_create(
            source_sha256=asset.sha256, preset=preset.key
        )
        enqueue = created
        if not created and _stale(rendition, now):
            requeued = Rendition.objects.filter(pk=rendition.pk, updated_at=rendition.updated_at)
            enqueue = bool(
                requeued.update(status=Rendition.Status.QUEUED, progress=0, error="", updated_at=now)
            )
            rendition.refresh_from_db()
        if not rendition.is_ready:
            RenditionWait.objects.update_or_create(
                rendition=rendition,
                entitlement=entitlement,
                asset=asset,
                defaults={"seen_at": now},
            )
        if enqueue:
            ids = {"rendition_id": rendition.pk, "asset_id": asset.pk}
            transaction.on_commit(lambda: rendition_make_task.enqueue(**ids))
    if enqueue:
        rendition.refresh_from_db()
    return rendition


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


def _sha256(path: str) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


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
        digest, size = _sha256(output)
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
    from delivery.formats.tasks import rendition_failed_seller_mail, rendition_ready_mail

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
