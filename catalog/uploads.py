"""Resumable uploads of big files (up to ``UPLOAD_MAX_BYTES``, 20 GiB by default).

No request ever holds a whole file: the bytes arrive in pieces and are written
straight to where they will live, so the memory an upload costs is one read
buffer (``READ_BYTES``), whatever the file's size.

The protocol (JSON over HTTP, all under ``/sell/uploads/``; every call needs
the seller's session and CSRF token, and every upload id passes the ownership
gate in ``catalog/access.py``):

``POST /sell/uploads/`` with ``{"product": id, "role": "deliverable" | "preview",
"filename": str, "size": int}`` opens an upload session and answers ``201``
with ``{"id", "backend", "size", "offset", "chunk_size", "part_size", "urls"}``.

Local backend (``backend == "local"``): the bytes go to the app.

- ``PATCH /sell/uploads/<id>/`` with the header ``Upload-Offset: N`` and up to
  ``chunk_size`` raw bytes as the body appends them at byte ``N`` of a
  ``.part`` file in the private storage (``uploads/<id>.part``). ``N`` must
  equal the bytes already received, otherwise ``409`` with the real offset:
  the size of the ``.part`` file is the only truth, so a chunk cut off by a
  dropped connection keeps what arrived and the client resumes from there.
  A second writer at the same time gets ``409`` too (the file is locked).
- ``GET /sell/uploads/<id>/`` answers ``{"offset": N, ...}``: resume from ``N``.

S3 backend (``backend == "s3"``): the bytes go straight to the bucket.

- The session is an S3 multipart upload at its final key (``assets/<id>.<ext>``
  in the private bucket). ``POST /sell/uploads/<id>/parts/`` with
  ``{"numbers": [1, 2, ...]}`` answers presigned ``upload_part`` URLs; the
  browser PUTs part ``n`` (bytes ``(n-1)*part_size`` to ``n*part_size``) to
  each. Only the last part may be shorter.
- ``GET /sell/uploads/<id>/`` lists the parts the bucket already holds
  (``{"parts": [{"number", "size"}]}``): resume by sending the others.

Both: ``POST /sell/uploads/<id>/finish/`` checks that every byte is there,
completes the multipart upload (S3: the server lists the parts itself, so the
browser never needs to read an ``ETag``), inspects the file and creates the
asset, or answers ``400`` with the reason and removes the bytes.
``DELETE /sell/uploads/<id>/`` abandons the upload. Sessions expire after
``UPLOAD_EXPIRY_HOURS``; ``manage.py purge_uploads`` removes their leftovers.

This module is storage mechanics only (no ORM): the services in
``catalog/services.py`` decide who may do what.
"""

from __future__ import annotations

import contextlib
import fcntl
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from django.core.files.move import file_move_safe
from django.core.files.storage import Storage

MiB = 1024 * 1024
READ_BYTES = 1 * MiB  # one read buffer: the whole memory cost of a chunk
CHUNK_BYTES = 8 * MiB  # what the browser sends per PATCH (local backend)
MIN_PART_BYTES = 16 * MiB  # S3 needs >= 5 MiB per part except the last
MAX_PARTS = 10_000  # S3's limit on parts per multipart upload


class UploadError(Exception):
    """Something a person can fix or retry; ``status`` is the HTTP answer."""

    status = 400

    def __init__(self, message: str, *, offset: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset


class OffsetMismatch(UploadError):
    status = 409


class TooLarge(UploadError):
    status = 413


class Incomplete(UploadError):
    status = 409


def is_s3(storage: Storage) -> bool:
    # isinstance sees through Django's lazy storage wrappers (they proxy __class__).
    from storages.backends.s3 import S3Storage

    return isinstance(storage, S3Storage)


def part_size_for(size: int) -> int:
    """Parts big enough that any allowed size fits in S3's 10,000 parts."""
    wanted = max(MIN_PART_BYTES, math.ceil(size / (MAX_PARTS - 1)))
    return math.ceil(wanted / MiB) * MiB


def part_count(size: int, part_size: int) -> int:
    return max(1, math.ceil(size / part_size))


# --- Local backend ----------------------------------------------------------


def local_path(storage: Storage, name: str) -> Path:
    return Path(storage.path(name))


def local_offset(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def local_append(path: Path, *, offset: int, stream: BinaryIO, length: int, size: int) -> int:
    """Write ``length`` bytes read from ``stream`` at ``offset``; return the new offset.

    The file is locked while it grows, and its size (not anything the client
    or the database says) decides where the next byte goes.
    """
    if length <= 0:
        raise UploadError("Send the chunk's bytes with a Content-Length.")
    if offset + length > size:
        raise TooLarge(
            f"This chunk would go past the {size:,} bytes announced for the file.",
            offset=offset,
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    with os.fdopen(fd, "r+b") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise OffsetMismatch(
                "Another request is writing this upload; ask for the offset and resume.",
                offset=os.fstat(handle.fileno()).st_size,
            ) from None
        current = os.fstat(handle.fileno()).st_size
        if current != offset:
            raise OffsetMismatch(
                f"The upload holds {current:,} bytes, not {offset:,}: resume from there.",
                offset=current,
            )
        handle.seek(offset)
        remaining = length
        try:
            while remaining > 0:
                piece = stream.read(min(READ_BYTES, remaining))
                if not piece:
                    break  # the client went away: keep what arrived
                handle.write(piece)
                remaining -= len(piece)
        finally:
            handle.flush()
        return handle.tell()


def local_place(source: Path, target_storage: Storage, name: str) -> str:
    """Move a finished ``.part`` file to ``name`` in ``target_storage`` (a rename when
    both sit on one disk); return the stored name."""
    target = Path(target_storage.path(name))
    target.parent.mkdir(parents=True, exist_ok=True)
    file_move_safe(str(source), str(target), allow_overwrite=False)
    return name


def local_discard(path: Path) -> None:
    path.unlink(missing_ok=True)


# --- S3 backend -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Part:
    number: int
    size: int
    etag: str


def _s3(storage: Storage) -> tuple[Any, str]:
    target: Any = storage
    return target.connection.meta.client, target.bucket_name


def s3_key(storage: Storage, name: str) -> str:
    from storages.utils import clean_name

    target: Any = storage
    return str(target._normalize_name(clean_name(name)))


def s3_create(storage: Storage, name: str, *, content_type: str) -> str:
    client, bucket = _s3(storage)
    answer = client.create_multipart_upload(
        Bucket=bucket, Key=s3_key(storage, name), ContentType=content_type
    )
    return str(answer["UploadId"])


def s3_presign(
    storage: Storage, name: str, *, upload_id: str, numbers: list[int], expires: int
) -> dict[int, str]:
    client, bucket = _s3(storage)
    key = s3_key(storage, name)
    return {
        number: client.generate_presigned_url(
            "upload_part",
            Params={"Bucket": bucket, "Key": key, "UploadId": upload_id, "PartNumber": number},
            ExpiresIn=expires,
        )
        for number in numbers
    }


def s3_parts(storage: Storage, name: str, *, upload_id: str) -> list[Part]:
    client, bucket = _s3(storage)
    key = s3_key(storage, name)
    parts: list[Part] = []
    marker = 0
    while True:
        page = client.list_parts(
            Bucket=bucket, Key=key, UploadId=upload_id, PartNumberMarker=marker
        )
        parts.extend(
            Part(int(p["PartNumber"]), int(p["Size"]), str(p["ETag"]))
            for p in page.get("Parts", [])
        )
        if not page.get("IsTruncated"):
            return sorted(parts, key=lambda p: p.number)
        marker = int(page["NextPartNumberMarker"])


def s3_complete(storage: Storage, name: str, *, upload_id: str, parts: list[Part]) -> int:
    """Join the parts into one object; return its size as the bucket reports it."""
    client, bucket = _s3(storage)
    key = s3_key(storage, name)
    client.complete_multipart_upload(
        Bucket=bucket,
        Key=key,
        UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": p.number, "ETag": p.etag} for p in parts]},
    )
    return int(client.head_object(Bucket=bucket, Key=key)["ContentLength"])


def s3_abort(storage: Storage, name: str, *, upload_id: str) -> None:
    client, bucket = _s3(storage)
    with contextlib.suppress(client.exceptions.NoSuchUpload):
        client.abort_multipart_upload(Bucket=bucket, Key=s3_key(storage, name), UploadId=upload_id)


def s3_copy(source: Storage, source_name: str, target: Storage, target_name: str) -> str:
    """Copy inside S3 (server side, multipart above 5 GB): no byte passes through here."""
    client, source_bucket = _s3(source)
    _, target_bucket = _s3(target)
    client.copy(
        {"Bucket": source_bucket, "Key": s3_key(source, source_name)},
        target_bucket,
        s3_key(target, target_name),
    )
    return target_name


def check_parts(parts: list[Part], *, size: int, part_size: int) -> list[Part]:
    """The parts that make the whole file, or :class:`Incomplete` naming what is missing."""
    expected = part_count(size, part_size)
    by_number = {p.number: p for p in parts}
    missing = [n for n in range(1, expected + 1) if n not in by_number]
    if missing:
        shown = ", ".join(str(n) for n in missing[:5]) + ("…" if len(missing) > 5 else "")
        raise Incomplete(f"Parts {shown} of {expected} have not arrived yet.")
    chosen = [by_number[n] for n in range(1, expected + 1)]
    for part in chosen:
        want = part_size if part.number < expected else size - part_size * (expected - 1)
        if part.size != want:
            raise Incomplete(f"Part {part.number} holds {part.size:,} bytes, not {want:,}.")
    return chosen


def iter_file(stream: BinaryIO) -> Iterator[bytes]:
    while chunk := stream.read(READ_BYTES):
        yield chunk
