"""A whole product as one ZIP ("Download all"), in the file's own format or one preset.

Entries are stored (no compression: audio, video and books are compressed
already) and each file's CRC-32 is kept once computed (``FileChecksum``), so
the archive is laid out before its first byte (``delivery.ziplayout``): its
exact length, any byte range without reading what comes before it, and the
same bytes on every request and every node (entry dates are the stored files'
own). With the ``stream`` backend and a private storage on disk the ZIP is
never stored: each download sends header bytes and the files themselves,
under gunicorn with ``sendfile()`` for every file's bytes, as fast as nginx
sends one file (decision 101). The other backends (``x-accel``,
``x-sendfile``, ``s3``) cannot run code while they send, so the ZIP is built
once in the worker, stored in the private storage (``ZipBuild``, keyed by its
entries) and sent like any stored file.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import ssl
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath

from django.conf import settings
from django.core.files import File
from django.core.files.storage import Storage
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header, quote_etag
from django.utils.translation import gettext as _
from django_tasks import task

from catalog.media import safe_filename
from catalog.models import Asset, Product
from catalog.storage import private_storage
from catalog.uploads.backends import private_files
from delivery import ziplayout
from delivery.formats.models import FileChecksum, Rendition, ZipBuild
from delivery.formats.presets import PRESETS
from delivery.formats.services import asset_is_lossless
from delivery.serving import Served, parse_range

ZIP_MIME = "application/zip"


class BundleNotReady(Exception):
    """A file of the bundle has no rendition in the chosen format yet."""


@dataclass(frozen=True, slots=True)
class Entry:
    arcname: str
    name: str  # in the private storage
    size: int
    sha256: str


def _deliverables(product: Product) -> list[Asset]:
    return list(
        Asset.objects.filter(product=product, role=Asset.Role.DELIVERABLE).order_by(
            "position", "id"
        )
    )


def bundle_entries(*, product: Product, preset: str | None) -> list[Entry]:
    """The ZIP's entries: each paid file, lossless ones in ``preset`` when given,
    under one folder named after the product. Raises BundleNotReady when a
    rendition is missing."""
    folder = safe_filename(product.title)
    chosen = PRESETS.get(preset or "")
    seen: set[str] = set()
    entries = []
    for asset in _deliverables(product):
        filename, name = asset.original_filename, asset.file.name or ""
        size, digest = asset.size_bytes, asset.sha256
        if chosen is not None and asset_is_lossless(asset):
            rendition = Rendition.objects.filter(
                source_sha256=asset.sha256, preset=chosen.key, status=Rendition.Status.READY
            ).first()
            if rendition is None or not rendition.stored_name:
                raise BundleNotReady(asset.original_filename)
            stem = PurePosixPath(filename).stem or "file"
            filename = f"{stem}.{chosen.extension}"
            name, size, digest = rendition.stored_name, rendition.size_bytes, rendition.sha256
        arcname = _unique(f"{folder}/{safe_filename(filename)}", seen)
        entries.append(Entry(arcname=arcname, name=name, size=size, sha256=digest))
    return entries


def _unique(arcname: str, seen: set[str]) -> str:
    candidate, number = arcname, 2
    stem, dot, suffix = arcname.rpartition(".")
    while candidate.lower() in seen:
        candidate = f"{stem} ({number}).{suffix}" if dot else f"{arcname} ({number})"
        number += 1
    seen.add(candidate.lower())
    return candidate


def bundle_key(entries: list[Entry]) -> str:
    spec = json.dumps([[e.arcname, e.sha256, e.size] for e in entries], ensure_ascii=False)
    return hashlib.sha256(("zip-v2:" + spec).encode()).hexdigest()


def zip_filename(product: Product) -> str:
    return f"{safe_filename(product.title)}.zip"


def streams_as_built(storage: Storage | None = None) -> bool:
    """Whether a ZIP is streamed as built here: the ``stream`` backend, files on disk."""
    storage = storage or private_storage()
    if settings.DELIVERY_BACKEND != "stream":
        return False
    try:
        storage.path("probe")
    except NotImplementedError:
        return False
    return True


# --- laid out ----------------------------------------------------------------------


def entry_checksums(entries: list[Entry], storage: Storage) -> dict[str, int]:
    """Each entry's CRC-32 by its SHA-256: kept ones in one query, the others read
    from the file once (and kept for every later archive holding the same bytes)."""
    known = dict(
        FileChecksum.objects.filter(sha256__in={e.sha256 for e in entries if e.sha256}).values_list(
            "sha256", "crc32"
        )
    )
    found: dict[str, int] = {}
    for entry in entries:
        if entry.sha256 in known or entry.sha256 in found:
            continue
        with storage.open(entry.name, "rb") as handle:
            found[entry.sha256] = ziplayout.file_crc32(handle)
    FileChecksum.keep(found)
    return {**known, **found}


def _mtime(storage: Storage, name: str) -> float:
    try:
        return os.stat(storage.path(name)).st_mtime
    except NotImplementedError:
        return storage.get_modified_time(name).timestamp()


def bundle_layout(entries: list[Entry], storage: Storage) -> list[ziplayout.Part]:
    crcs = entry_checksums(entries, storage)
    return ziplayout.zip_layout(
        ziplayout.Member(
            arcname=e.arcname,
            name=e.name,
            size=e.size,
            crc32=crcs[e.sha256],
            mtime=_mtime(storage, e.name),
        )
        for e in entries
    )


def _sendfile_socket(request: HttpRequest) -> socket.socket | None:
    """The client's socket, when gunicorn runs this request: it writes each chunk it is
    given before asking for the next, so a span can be sent on the socket in between."""
    sock = request.META.get("gunicorn.socket")
    wrapper = request.META.get("wsgi.file_wrapper")
    if not settings.DELIVERY_ZIP_SENDFILE or not isinstance(sock, socket.socket):
        return None
    if isinstance(sock, ssl.SSLSocket) or not getattr(wrapper, "__module__", "").startswith(
        "gunicorn."
    ):
        return None
    return sock


def _body(request: HttpRequest, parts: list[ziplayout.Part], storage: Storage) -> Iterator[bytes]:
    sock = _sendfile_socket(request)
    if sock is not None:
        return ziplayout.parts_sent(parts, sock, storage.path)
    return ziplayout.parts_bytes(parts, lambda name: storage.open(name, "rb"))


def stream_zip(request: HttpRequest, *, entries: list[Entry], filename: str) -> HttpResponseBase:
    storage = private_storage()
    parts = bundle_layout(entries, storage)
    size = ziplayout.parts_size(parts)
    # The layout holds each file's date and CRC: it changes when any byte would.
    layout_digest = hashlib.sha256(bundle_key(entries).encode())
    for part in parts:
        if isinstance(part, bytes):
            layout_digest.update(part)
    etag = quote_etag(layout_digest.hexdigest()[:32])
    wanted = parse_range(request.headers.get("Range", ""), size)
    if_range = request.headers.get("If-Range")
    if if_range is not None and if_range.strip() != etag:
        wanted = None
    response: HttpResponseBase
    if wanted is False:
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
    elif request.method == "HEAD":
        response = HttpResponse(status=206 if isinstance(wanted, tuple) else 200)
    elif isinstance(wanted, tuple):
        first, last = wanted
        chosen = ziplayout.parts_range(parts, first, last - first + 1)
        response = StreamingHttpResponse(_body(request, chosen, storage), status=206)
    else:
        response = StreamingHttpResponse(_body(request, parts, storage))
    if isinstance(wanted, tuple):
        response["Content-Range"] = f"bytes {wanted[0]}-{wanted[1]}/{size}"
        response["Content-Length"] = str(wanted[1] - wanted[0] + 1)
    elif wanted is not False:
        response["Content-Length"] = str(size)
    response["ETag"] = etag
    response["Content-Type"] = ZIP_MIME
    response["Content-Disposition"] = content_disposition_header(True, filename) or "attachment"
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Accept-Ranges"] = "bytes"
    return response


# --- built once, stored ----------------------------------------------------------


def zip_build_request(*, product: Product, preset: str | None, entries: list[Entry]) -> ZipBuild:
    """The stored ZIP of these entries, queued for the worker if new (or failed)."""
    with transaction.atomic():
        build, created = ZipBuild.objects.get_or_create(key=bundle_key(entries))
        enqueue = created
        if build.status == ZipBuild.Status.FAILED:
            enqueue = bool(
                ZipBuild.objects.filter(pk=build.pk, status=ZipBuild.Status.FAILED).update(
                    status=ZipBuild.Status.QUEUED, error="", updated_at=timezone.now()
                )
            )
        if enqueue:
            build_id, product_id, key = build.pk, product.pk, preset or ""
            transaction.on_commit(
                lambda: zip_build_task.enqueue(build_id=build_id, product_id=product_id, preset=key)
            )
    if enqueue:
        build.refresh_from_db()
    return build


def zip_served(build: ZipBuild, *, filename: str) -> Served:
    return Served(
        storage=private_storage(),
        name=build.stored_name,
        size=build.size_bytes,
        etag=quote_etag(build.key[:32]),
        filename=filename,
        mime_type=ZIP_MIME,
    )


@task()
def zip_build_task(*, build_id: int, product_id: int, preset: str) -> None:
    """Build the ZIP through the storage seam (a temporary file), then store it."""
    claimed = ZipBuild.objects.filter(pk=build_id, status=ZipBuild.Status.QUEUED).update(
        status=ZipBuild.Status.RUNNING, updated_at=timezone.now()
    )
    if not claimed:
        return
    build = ZipBuild.objects.get(pk=build_id)
    product = Product.objects.get(pk=product_id)
    try:
        entries = bundle_entries(product=product, preset=preset or None)
        if bundle_key(entries) != build.key:
            raise BundleNotReady(_("The product's files changed meanwhile."))
        storage = private_storage()
        parts = bundle_layout(entries, storage)
        with tempfile.TemporaryFile(prefix="echoppe-zip-") as out:
            for chunk in ziplayout.parts_bytes(parts, lambda name: storage.open(name, "rb")):
                out.write(chunk)
            size = out.tell()
            out.seek(0)
            name = f"zips/{build.key[:2]}/{build.key}.zip"
            stored = private_files().file_save(name, File(out, name=f"{build.key}.zip"))
    except (BundleNotReady, OSError, RuntimeError) as error:
        ZipBuild.objects.filter(pk=build_id).update(
            status=ZipBuild.Status.FAILED, error=str(error)[:500], updated_at=timezone.now()
        )
        return
    ZipBuild.objects.filter(pk=build_id).update(
        status=ZipBuild.Status.READY,
        stored_name=stored,
        size_bytes=size,
        updated_at=timezone.now(),
    )
