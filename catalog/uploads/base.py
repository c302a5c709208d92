"""What every upload backend does, whatever the storage (see the package docstring).

Storage mechanics only: a backend never decides who may upload what, and never
writes a row. It may set the storage fields of the session it is given
(``backend``, ``storage_name``, ``part_size``, ``s3_upload_id``); the services
save them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, BinaryIO, ClassVar

from django.core.files import File
from django.core.files.storage import Storage
from django.utils.translation import gettext

from catalog.models import UploadSession

MiB = 1024 * 1024
READ_BYTES = 1 * MiB  # one read buffer: the whole memory cost of a chunk
CHUNK_BYTES = 8 * MiB  # what the browser sends per PATCH (local backend)
CHUNK_MAX_BYTES = 4 * CHUNK_BYTES  # the most one PATCH may carry


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


class Unsupported(UploadError):
    """This backend does not do that (chunks through the app, presigned parts)."""

    status = 409


@dataclass(frozen=True, slots=True)
class Part:
    """One part of an S3 multipart upload, as the bucket lists it."""

    number: int
    size: int
    etag: str


def is_s3(storage: Storage) -> bool:
    # isinstance sees through Django's lazy storage wrappers (they proxy __class__);
    # imported here so that boto3 loads only where an S3 storage is configured.
    from storages.backends.s3 import S3Storage

    return isinstance(storage, S3Storage)


class UploadBackend(ABC):
    """The bytes of upload sessions, and of derived files, in one storage."""

    name: ClassVar[str]  # the value of ``UploadSession.backend``

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    # --- Sessions ------------------------------------------------------------

    @abstractmethod
    def start(self, upload: UploadSession) -> None:
        """Open a session for ``upload`` (not saved yet): fill its storage fields."""

    @abstractmethod
    def offset(self, upload: UploadSession) -> int:
        """How many bytes have arrived."""

    def progress(self, upload: UploadSession) -> dict[str, Any]:
        """What a client resuming ``upload`` needs to know (``GET`` answers it)."""
        return {"offset": self.offset(upload)}

    def receive(self, upload: UploadSession, *, offset: int, stream: BinaryIO, length: int) -> int:
        """Write one chunk of ``length`` bytes at ``offset``; return the new offset."""
        raise Unsupported(gettext("This upload goes straight to the bucket."))

    def parts(self, upload: UploadSession) -> list[Part]:
        """The parts the storage holds (none where bytes do not arrive in parts)."""
        return []

    def presign(self, upload: UploadSession, *, numbers: list[int], expires: int) -> dict[int, str]:
        """URLs the browser sends parts ``numbers`` to, valid ``expires`` seconds."""
        raise Unsupported(gettext("This upload goes through the app, not to a bucket."))

    @abstractmethod
    def assemble(self, upload: UploadSession) -> int:
        """Check that every byte arrived and make them one stored object; return
        its size as the storage reports it. Raises ``Incomplete`` otherwise."""

    @abstractmethod
    def received_file(self, upload: UploadSession) -> File:
        """The assembled bytes, open for reading (the caller closes it)."""

    def place(self, upload: UploadSession, *, storage: Storage, name: str) -> str:
        """Move the assembled bytes to ``name`` in ``storage``; return the stored name.

        This fallback streams them through, in chunks; backends avoid the copy
        where the two storages allow it.
        """
        with self.storage.open(upload.storage_name, "rb") as source:
            name = storage.save(name, source)
        self.discard(upload)
        return name

    @abstractmethod
    def discard(self, upload: UploadSession) -> None:
        """Remove whatever arrived for ``upload`` (parts, a ``.part`` file, an object)."""

    # --- Stored files (derived formats, stamped copies...) --------------------

    def file_save(self, name: str, content: File) -> str:
        """Store ``content`` (read in chunks) as ``name``; return the name it got."""
        return self.storage.save(name, content)

    def file_open(self, name: str) -> File:
        """A stored file, open for reading in binary."""
        return self.storage.open(name, "rb")

    def file_delete(self, name: str) -> None:
        self.storage.delete(name)
