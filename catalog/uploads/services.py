"""Writes for resumable uploads (protocol in ``catalog/uploads/__init__.py``).

The rules (who, how big, which state) and every row written live here; the
bytes are the backend's business (``upload_backend``), whichever it is.
"""

from __future__ import annotations

import hmac
import logging
from datetime import datetime, timedelta
from typing import Any, BinaryIO, NoReturn

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from catalog.discovery.services import product_index
from catalog.l10n import format_size
from catalog.media import safe_filename
from catalog.models import Asset, Product, Seller, UploadSession, asset_path, preview_path
from catalog.quotas import quota_check
from catalog.services import CatalogError
from catalog.services.assets import (
    asset_inspect,
    asset_next_position,
    preview_name,
    product_cover_offer,
)
from catalog.uploads.backends import private_files, upload_backend
from catalog.uploads.base import Part, Unsupported, UploadBackend, UploadError

logger = logging.getLogger(__name__)


def _expiry() -> datetime:
    return timezone.now() + timedelta(hours=settings.UPLOAD_EXPIRY_HOURS)


@transaction.atomic
def upload_create(
    *, seller: Seller, product: Product, role: str, filename: str, size: int
) -> UploadSession:
    if product.seller_id != seller.pk:
        raise CatalogError(gettext("No such product."), status=404)
    if role not in Asset.Role.values:
        raise CatalogError(gettext("Choose whether the file is for buyers or a public preview."))
    if size <= 0:
        raise CatalogError(gettext("This file is empty."))
    if size > settings.UPLOAD_MAX_BYTES:
        raise CatalogError(
            gettext("Files up to %(format_size)s are accepted; this one is %(format_size2)s.")
            % {
                "format_size": format_size(settings.UPLOAD_MAX_BYTES),
                "format_size2": format_size(size),
            },
            status=413,
        )
    # The seller's row lock makes the quota check and the new session one step:
    # two uploads opened at once cannot both take the last free bytes.
    Seller.objects.select_for_update().filter(pk=seller.pk).first()
    quota_check(seller=seller, adding=size, opening_upload=True)
    upload = UploadSession(
        seller=seller,
        product=product,
        role=role,
        filename=safe_filename(filename),
        size_bytes=size,
        expires_at=_expiry(),
    )
    private_files().start(upload)
    upload.save()
    return upload


def _check_open(upload: UploadSession) -> None:
    if upload.status == UploadSession.Status.REFUSED:
        raise CatalogError(upload.error or "This file was refused.")
    if upload.status == UploadSession.Status.FINISHING:
        raise CatalogError(gettext("This upload is already being finished."), status=409)
    if upload.status != UploadSession.Status.RECEIVING:
        raise CatalogError(gettext("This upload is finished."), status=409)
    if upload.expires_at <= timezone.now():
        raise CatalogError(gettext("This upload has expired: start it again."), status=410)


def upload_offset(*, upload: UploadSession) -> int:
    """How many bytes have arrived (local: the size of the .part file; S3: the parts)."""
    if upload.status == UploadSession.Status.COMPLETE:
        return upload.size_bytes
    return upload_backend(upload).offset(upload)


def upload_progress(*, upload: UploadSession) -> dict[str, Any]:
    """Where a client resumes from: ``offset``, and the ``parts`` a bucket holds."""
    if upload.status == UploadSession.Status.RECEIVING:
        return upload_backend(upload).progress(upload)
    return {"offset": upload_offset(upload=upload)}


def upload_receive(*, upload: UploadSession, offset: int, stream: BinaryIO, length: int) -> int:
    """Append one chunk (local backend); return the new offset."""
    _check_open(upload)
    backend = upload_backend(upload)
    try:
        offset = backend.receive(upload, offset=offset, stream=stream, length=length)
    except Unsupported as exc:
        raise CatalogError(exc.message, status=exc.status) from exc
    except BaseException:
        _record_received(upload, backend)  # a chunk cut short keeps what arrived
        raise
    _record_received(upload, backend)
    return offset


def _record_received(upload: UploadSession, backend: UploadBackend) -> None:
    UploadSession.objects.filter(pk=upload.pk).update(
        received_bytes=backend.offset(upload), expires_at=_expiry()
    )


def upload_parts(*, upload: UploadSession) -> list[Part]:
    return upload_backend(upload).parts(upload)


def upload_presign(*, upload: UploadSession, numbers: list[int]) -> dict[int, str]:
    """Presigned PUT URLs for some parts (S3 backend), at most 100 at a time."""
    _check_open(upload)
    try:
        urls = upload_backend(upload).presign(
            upload, numbers=numbers, expires=settings.UPLOAD_PRESIGN_SECONDS
        )
    except UploadError as exc:
        raise CatalogError(exc.message, status=exc.status) from exc
    UploadSession.objects.filter(pk=upload.pk).update(expires_at=_expiry())
    return urls


def upload_finish(*, upload: UploadSession, sha256: str = "") -> Asset:
    """Check every byte arrived, inspect the file and make it an asset of the product.

    ``sha256``, when the client gives one, must be the file's: otherwise the
    upload is refused and its bytes removed, like a file the inspection refuses.

    Runs outside one long transaction: hashing 20 GB takes a while, and SQLite
    would hold its write lock all that time. The status column claims the
    upload so that two finish requests cannot both create an asset.
    """
    if upload.status == UploadSession.Status.COMPLETE and upload.asset_id:
        return upload.asset  # type: ignore[return-value]
    _check_open(upload)
    claimed = UploadSession.objects.filter(
        pk=upload.pk, status=UploadSession.Status.RECEIVING
    ).update(status=UploadSession.Status.FINISHING)
    if not claimed:
        raise CatalogError(gettext("This upload is already being finished."), status=409)
    try:
        return _finish(upload, sha256=sha256.strip().lower())
    except CatalogError:
        raise  # a refusal, already recorded on the upload
    except UploadError as exc:
        UploadSession.objects.filter(pk=upload.pk).update(status=UploadSession.Status.RECEIVING)
        raise CatalogError(exc.message, status=exc.status) from exc
    except Exception:
        UploadSession.objects.filter(pk=upload.pk).update(status=UploadSession.Status.RECEIVING)
        raise


def _finish(upload: UploadSession, *, sha256: str = "") -> Asset:
    if upload.product_id is None:
        raise CatalogError(gettext("This upload is not meant for a product."))
    product = Product.objects.get(pk=upload.product_id)
    backend = upload_backend(upload)
    joined = backend.assemble(upload)
    # From here the bytes are one object: a retry must not look for parts.
    UploadSession.objects.filter(pk=upload.pk).update(
        storage_name=upload.storage_name, s3_upload_id=upload.s3_upload_id
    )
    if joined != upload.size_bytes:
        backend.discard(upload)
        _refuse(upload, f"The bucket holds {joined:,} bytes, not {upload.size_bytes:,}.")
    asset = Asset(product=product, role=upload.role, original_filename=upload.filename)
    opened = backend.received_file(upload)
    try:
        inspection = asset_inspect(asset=asset, file=opened)
    except CatalogError as exc:
        opened.close()
        backend.discard(upload)
        _refuse(upload, exc.message)
    finally:
        opened.close()
    if asset.size_bytes != upload.size_bytes:
        backend.discard(upload)
        _refuse(upload, "The file changed while it was being read; upload it again.")
    if sha256 and not hmac.compare_digest(sha256, asset.sha256):
        backend.discard(upload)
        _refuse(upload, gettext("The file that arrived does not have the SHA-256 you sent."))
    if upload.role == Asset.Role.PREVIEW:
        try:
            name = preview_path(preview_name(asset))
        except CatalogError as exc:
            backend.discard(upload)
            _refuse(upload, exc.message)
    else:
        name = asset_path(upload.filename)
    # Where the asset keeps the bytes; no copy when the storages allow it.
    target = asset.stored
    target.name = backend.place(upload, storage=target.storage, name=name)
    with transaction.atomic():
        asset.position = asset_next_position(product=product, role=upload.role)
        asset.save()
        product_cover_offer(product=product, inspection=inspection)
        product_index(product=product)
        UploadSession.objects.filter(pk=upload.pk).update(
            status=UploadSession.Status.COMPLETE,
            asset=asset,
            received_bytes=upload.size_bytes,
            error="",
        )
    upload.status, upload.asset = UploadSession.Status.COMPLETE, asset
    return asset


def _refuse(upload: UploadSession, reason: str) -> NoReturn:
    UploadSession.objects.filter(pk=upload.pk).update(
        status=UploadSession.Status.REFUSED, error=reason[:500]
    )
    upload.status, upload.error = UploadSession.Status.REFUSED, reason[:500]
    raise CatalogError(reason, field="file")


def upload_abort(*, upload: UploadSession) -> None:
    """Give up an upload and remove whatever arrived."""
    if upload.status in (UploadSession.Status.RECEIVING, UploadSession.Status.FINISHING):
        try:
            upload_backend(upload).discard(upload)
        except Exception:  # a vanished multipart upload is already aborted
            logger.warning("could not discard upload %s", upload.pk, exc_info=True)
    if upload.status != UploadSession.Status.COMPLETE:
        UploadSession.objects.filter(pk=upload.pk).delete()


def upload_purge_expired(*, now: datetime | None = None) -> int:
    """Remove expired unfinished uploads with their bytes; return how many."""
    now = now or timezone.now()
    count = 0
    for upload in UploadSession.objects.filter(expires_at__lte=now).exclude(
        status=UploadSession.Status.COMPLETE
    ):
        upload_abort(upload=upload)
        count += 1
    UploadSession.objects.filter(expires_at__lte=now, status=UploadSession.Status.COMPLETE).delete()
    return count
