"""A whole product as one ZIP ("Download all"), in the file's own format or one preset.

Entries are stored (no compression: audio, video and books are compressed
already), so the archive's exact length is known before its first byte and
any byte range of it can be produced again: with the ``stream`` backend and a
private storage on disk the ZIP is streamed as it is built (zipstream-ng,
constant memory, no temporary copy), and a ``Range`` request skips to its
first byte. Entry dates are the stored files' own, so every request builds
the same bytes. The other backends (``x-accel``, ``x-sendfile``, ``s3``)
cannot run code while they send, so the ZIP is built once in the worker,
stored in the private storage (``ZipBuild``, keyed by its entries) and sent
like any stored file. On ``stream`` too, once a worker has built it: the first
download of a product streams as built (and asks a worker for the stored
copy, unless tasks run in the request), the ones after are sent from the
stored file with ``sendfile()``, as fast as nginx sends a file, where Python
streaming the entries reaches about half of it.
"""

from __future__ import annotations

import hashlib
import json
import os
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
from zipstream import ZIP_STORED, ZipStream

from catalog.media import safe_filename
from catalog.models import Asset, Product
from catalog.storage import private_storage
from catalog.uploads.backends import private_files
from delivery.formats.models import Rendition, ZipBuild
from delivery.formats.presets import PRESETS
from delivery.formats.services import asset_is_lossless
from delivery.serving import CHUNK, Served, parse_range

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
    return hashlib.sha256(("zip-v1:" + spec).encode()).hexdigest()


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


def builds_in_background() -> bool:
    """Whether a ZIP build would run in a worker: never in the request (the immediate
    backend runs a task where it is enqueued), so a buyer's first download never waits."""
    return bool(zip_build_task.get_backend().supports_defer)


# --- streamed as built ---------------------------------------------------------


def zip_of(entries: list[Entry], storage: Storage) -> ZipStream:
    archive = ZipStream(compress_type=ZIP_STORED, sized=True)
    for entry in entries:
        archive.add_path(storage.path(entry.name), entry.arcname)
    return archive


def _span(chunks: Iterator[bytes], first: int, length: int) -> Iterator[bytes]:
    """Bytes ``first`` to ``first + length`` of the stream, skipping what comes before."""
    position, remaining = 0, length
    for chunk in chunks:
        end = position + len(chunk)
        if end > first and remaining > 0:
            piece = chunk[max(0, first - position) :][:remaining]
            remaining -= len(piece)
            yield piece
        position = end
        if remaining <= 0:
            break


def rechunk(chunks: Iterator[bytes], size: int = CHUNK) -> Iterator[bytes]:
    """zipstream-ng yields headers of a few bytes between 64 KiB blocks of data: they
    are joined into pieces of ``size`` (256 KiB, as a file is sent), so each piece
    costs one pass through Django and one write to the socket, not four or more."""
    pending: list[bytes] = []
    held = 0
    for chunk in chunks:
        if not pending and len(chunk) >= size:
            yield chunk
            continue
        pending.append(chunk)
        held += len(chunk)
        if held >= size:
            yield b"".join(pending)
            pending.clear()
            held = 0
    if pending:
        yield b"".join(pending)


def stream_zip(request: HttpRequest, *, entries: list[Entry], filename: str) -> HttpResponseBase:
    storage = private_storage()
    archive = zip_of(entries, storage)
    size = len(archive)
    mtimes = [int(os.stat(storage.path(e.name)).st_mtime) for e in entries]
    etag = quote_etag(hashlib.sha256(f"{bundle_key(entries)}:{mtimes}".encode()).hexdigest()[:32])
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
        body = _span(rechunk(iter(archive)), first, last - first + 1)
        response = StreamingHttpResponse(body, status=206)
    else:
        response = StreamingHttpResponse(rechunk(iter(archive)))
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


def _chunks(name: str) -> Iterator[bytes]:
    handle = private_files().file_open(name)
    try:
        yield from handle.chunks(CHUNK)
    finally:
        handle.close()


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
        if streams_as_built():
            # Files on disk: the very bytes a streamed download of it had (the files'
            # own dates), so a resume that crosses from one to the other stays whole.
            archive = zip_of(entries, private_storage())
        else:
            archive = ZipStream(compress_type=ZIP_STORED, sized=True)
            for entry in entries:
                archive.add(_chunks(entry.name), entry.arcname, size=entry.size)
        with tempfile.TemporaryFile(prefix="echoppe-zip-") as out:
            for chunk in archive:
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
