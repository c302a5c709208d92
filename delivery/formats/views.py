"""The buyer's side of formats: pick one, wait for it (a page that refreshes), get it."""

from __future__ import annotations

from pathlib import PurePosixPath

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import quote_etag

from catalog.models import Asset
from catalog.storage import private_storage
from delivery.access import file_link_mint
from delivery.formats.models import Rendition, StampedCopy
from delivery.formats.presets import PRESETS
from delivery.formats.services import (
    FormatUnavailable,
    preset_check,
    rendition_request,
    stamped_request,
)
from delivery.models import Entitlement
from delivery.serving import Served

ORIGINAL = "original"
# The "format" of a file link to a buyer's stamped copy.
STAMPED = "stamped"
# Seconds between two refreshes of the "preparing" page.
POLL_SECONDS = 2


def format_response(
    request: HttpRequest, *, entitlement: Entitlement, asset: Asset, key: str
) -> HttpResponse:
    """The file in format ``key``: a file link when it is ready, else a page that
    says how far along it is (and refreshes), or why it failed."""
    try:
        preset = preset_check(
            asset=asset, product_formats=entitlement.product.audio_formats, key=key
        )
    except FormatUnavailable as exc:
        return render(
            request,
            "delivery/formats/unavailable.html",
            {"message": exc.message, "asset": asset, "product": entitlement.product},
            status=404,
        )
    rendition = rendition_request(asset=asset, preset=preset, entitlement=entitlement)
    if rendition.is_ready:
        signed = file_link_mint(entitlement=entitlement, asset=asset, preset=preset.key)
        return redirect("delivery:download", signed=signed)
    context = {
        "asset": asset,
        "product": entitlement.product,
        "preset": preset,
        "rendition": rendition,
        "failed": rendition.status == Rendition.Status.FAILED,
        "poll_seconds": POLL_SECONDS,
        "original_url": request.path,
    }
    response = render(request, "delivery/formats/preparing.html", context)
    response["Cache-Control"] = "no-store"
    return response


def rendition_served(*, asset: Asset, key: str) -> Served | None:
    """The stored rendition of ``asset`` in ``key``, if it is ready."""
    preset = PRESETS.get(key)
    if preset is None:
        return None
    rendition = Rendition.objects.filter(
        source_sha256=asset.sha256, preset=key, status=Rendition.Status.READY
    ).first()
    if rendition is None or not rendition.stored_name:
        return None
    stem = PurePosixPath(asset.original_filename).stem or "file"
    return Served(
        storage=private_storage(),
        name=rendition.stored_name,
        size=rendition.size_bytes,
        etag=quote_etag(rendition.sha256[:32]),
        filename=f"{stem}.{preset.extension}",
        mime_type=preset.mime,
    )


def stamped_response(
    request: HttpRequest, *, entitlement: Entitlement, asset: Asset
) -> HttpResponse:
    """The buyer's stamped copy: a file link when it is made, else a page that refreshes."""
    copy = stamped_request(entitlement=entitlement, asset=asset)
    if copy.is_ready:
        signed = file_link_mint(entitlement=entitlement, asset=asset, preset=STAMPED)
        return redirect("delivery:download", signed=signed)
    response = render(
        request,
        "delivery/formats/stamp_preparing.html",
        {"asset": asset, "product": entitlement.product, "poll_seconds": POLL_SECONDS},
    )
    response["Cache-Control"] = "no-store"
    return response


def stamped_served(*, entitlement: Entitlement, asset: Asset) -> Served | None:
    """The stamped copy to send; the original (``Served.of_asset``) when it could
    not be stamped; None when there is none yet."""
    copy = StampedCopy.objects.filter(
        entitlement=entitlement,
        asset=asset,
        source_sha256=asset.sha256,
        status=StampedCopy.Status.READY,
    ).first()
    if copy is None:
        return None
    if copy.unstamped or not copy.stored_name:
        return Served.of_asset(asset)
    return Served(
        storage=private_storage(),
        name=copy.stored_name,
        size=copy.size_bytes,
        etag=quote_etag(copy.sha256[:32]),
        filename=asset.original_filename,
        mime_type=asset.mime_type,
    )
