"""Writes for renditions: ask for one, wait on one, make one (the task's body)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.models import Asset
from delivery.formats.models import Rendition, RenditionWait, StampedCopy
from delivery.formats.presets import PRESETS, Preset, is_lossless
from delivery.formats.tasks import rendition_make_task, stamp_make_task
from delivery.models import Entitlement

log = logging.getLogger(__name__)

# A failed rendition is tried again on a request this long after (ffmpeg installed since...).
RETRY_FAILED_AFTER = timedelta(minutes=10)


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
    now = timezone.now()
    with transaction.atomic():
        rendition, created = Rendition.objects.get_or_create(
            source_sha256=asset.sha256, preset=preset.key
        )
        enqueue = created
        if not created and _stale(rendition, now):
            requeued = Rendition.objects.filter(pk=rendition.pk, updated_at=rendition.updated_at)
            enqueue = bool(
                requeued.update(
                    status=Rendition.Status.QUEUED, progress=0, error="", updated_at=now
                )
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


def wants_stamp(*, stamp_ebooks: bool, asset: Asset) -> bool:
    """Whether this file is delivered stamped: the product says so, it is a PDF or an EPUB."""
    stampable = asset.mime_type in ("application/pdf", "application/epub+zip")
    return stamp_ebooks and stampable and bool(asset.sha256)


def stamped_request(*, entitlement: Entitlement, asset: Asset) -> StampedCopy:
    """This buyer's stamped copy of ``asset``, queued for the worker if new."""
    with transaction.atomic():
        copy, created = StampedCopy.objects.get_or_create(
            entitlement=entitlement, asset=asset, source_sha256=asset.sha256
        )
        if created:
            copy_id = copy.pk
            transaction.on_commit(lambda: stamp_make_task.enqueue(copy_id=copy_id))
    if created:
        copy.refresh_from_db()
    return copy
