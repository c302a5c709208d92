"""Uploads to an S3 bucket: a multipart upload at the asset's final key, parts
PUT by the browser to presigned URLs, listed and joined by the server."""

from __future__ import annotations

import contextlib
import math
from typing import Any

from django.core.files import File
from django.core.files.storage import Storage
from django.utils.translation import gettext
from storages.utils import clean_name

from catalog.models import UploadSession, asset_path
from catalog.uploads.base import Incomplete, MiB, Part, UploadBackend, UploadError, is_s3

MIN_PART_BYTES = 16 * MiB  # S3 needs >= 5 MiB per part except the last
MAX_PARTS = 10_000  # S3's limit on parts per multipart upload
MAX_PRESIGNED = 100  # part URLs per request


def part_size_for(size: int) -> int:
    """Parts big enough that any allowed size fits in S3's 10,000 parts."""
    wanted = max(MIN_PART_BYTES, math.ceil(size / (MAX_PARTS - 1)))
    return math.ceil(wanted / MiB) * MiB


def part_count(size: int, part_size: int) -> int:
    return max(1, math.ceil(size / part_size))


def _s3(storage: Storage) -> tuple[Any, str]:
    target: Any = storage
    return target.connection.meta.client, target.bucket_name


def s3_key(storage: Storage, name: str) -> str:
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
        raise Incomplete(
            gettext("Parts %(shown)s of %(expected)s have not arrived yet.")
            % {"shown": shown, "expected": expected}
        )
    chosen = [by_number[n] for n in range(1, expected + 1)]
    for part in chosen:
        want = part_size if part.number < expected else size - part_size * (expected - 1)
        if part.size != want:
            raise Incomplete(
                gettext("Part %(number)s holds %(size)s bytes, not %(want)s.")
                % {"number": part.number, "size": format(part.size, ","), "want": format(want, ",")}
            )
    return chosen


class S3UploadBackend(UploadBackend):
    """The bytes go from the browser to the bucket; the app presigns, lists and joins."""

    name = UploadSession.Backend.S3

    def start(self, upload: UploadSession) -> None:
        upload.backend = self.name
        upload.storage_name = asset_path(upload.filename)
        upload.part_size = part_size_for(upload.size_bytes)
        upload.s3_upload_id = s3_create(
            self.storage, upload.storage_name, content_type="application/octet-stream"
        )

    def offset(self, upload: UploadSession) -> int:
        return sum(p.size for p in self.parts(upload))

    def progress(self, upload: UploadSession) -> dict[str, Any]:
        parts = self.parts(upload)
        return {
            "parts": [{"number": p.number, "size": p.size} for p in parts],
            "offset": sum(p.size for p in parts),
        }

    def parts(self, upload: UploadSession) -> list[Part]:
        return s3_parts(self.storage, upload.storage_name, upload_id=upload.s3_upload_id)

    def presign(self, upload: UploadSession, *, numbers: list[int], expires: int) -> dict[int, str]:
        count = part_count(upload.size_bytes, upload.part_size)
        if not numbers or len(numbers) > MAX_PRESIGNED or any(not 1 <= n <= count for n in numbers):
            raise UploadError(
                gettext("Ask for between 1 and %(MAX_PRESIGNED)s part numbers from 1 to %(count)s.")
                % {"MAX_PRESIGNED": MAX_PRESIGNED, "count": count}
            )
        return s3_presign(
            self.storage,
            upload.storage_name,
            upload_id=upload.s3_upload_id,
            numbers=sorted(set(numbers)),
            expires=expires,
        )

    def assemble(self, upload: UploadSession) -> int:
        """Join the parts; from then on the session has no multipart id, so a retry
        (and ``discard``) sees one object, not parts."""
        if not upload.s3_upload_id:  # joined by an earlier attempt
            return self.storage.size(upload.storage_name)
        parts = check_parts(self.parts(upload), size=upload.size_bytes, part_size=upload.part_size)
        joined = s3_complete(
            self.storage, upload.storage_name, upload_id=upload.s3_upload_id, parts=parts
        )
        upload.s3_upload_id = ""
        return joined

    def received_file(self, upload: UploadSession) -> File:
        return self.storage.open(upload.storage_name, "rb")

    def place(self, upload: UploadSession, *, storage: Storage, name: str) -> str:
        if storage is self.storage:
            return upload.storage_name  # the multipart upload wrote the final key
        if is_s3(storage):
            s3_copy(self.storage, upload.storage_name, storage, name)
            self.storage.delete(upload.storage_name)
            return name
        return super().place(upload, storage=storage, name=name)

    def discard(self, upload: UploadSession) -> None:
        if upload.s3_upload_id:
            s3_abort(self.storage, upload.storage_name, upload_id=upload.s3_upload_id)
        else:  # already joined into one object
            self.storage.delete(upload.storage_name)
