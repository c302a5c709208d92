"""Uploads on the local disk: chunks appended to a ``.part`` file in the private storage."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import BinaryIO

from django.core.files import File
from django.core.files.move import file_move_safe
from django.core.files.storage import Storage
from django.utils.translation import gettext

from catalog.models import UploadSession
from catalog.uploads.base import (
    READ_BYTES,
    Incomplete,
    OffsetMismatch,
    TooLarge,
    UploadBackend,
    UploadError,
    is_s3,
)


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
        raise UploadError(gettext("Send the chunk's bytes with a Content-Length."))
    if offset + length > size:
        raise TooLarge(
            gettext("This chunk would go past the %(size)s bytes announced for the file.")
            % {"size": format(size, ",")},
            offset=offset,
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    with os.fdopen(fd, "r+b") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise OffsetMismatch(
                gettext("Another request is writing this upload; ask for the offset and resume."),
                offset=os.fstat(handle.fileno()).st_size,
            ) from None
        current = os.fstat(handle.fileno()).st_size
        if current != offset:
            raise OffsetMismatch(
                gettext("The upload holds %(current)s bytes, not %(offset)s: resume from there.")
                % {"current": format(current, ","), "offset": format(offset, ",")},
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


class LocalUploadBackend(UploadBackend):
    """The bytes go through the app, ``chunk_size`` at a time, into ``uploads/<id>.part``."""

    name = UploadSession.Backend.LOCAL

    def path(self, upload: UploadSession) -> Path:
        return local_path(self.storage, upload.storage_name)

    def start(self, upload: UploadSession) -> None:
        upload.backend = self.name
        upload.storage_name = f"uploads/{upload.id.hex}.part"

    def offset(self, upload: UploadSession) -> int:
        return local_offset(self.path(upload))

    def receive(self, upload: UploadSession, *, offset: int, stream: BinaryIO, length: int) -> int:
        return local_append(
            self.path(upload), offset=offset, stream=stream, length=length, size=upload.size_bytes
        )

    def assemble(self, upload: UploadSession) -> int:
        received = self.offset(upload)
        if received != upload.size_bytes:
            raise Incomplete(
                gettext("%(received)s of %(size_bytes)s bytes have arrived: resume the upload.")
                % {"received": format(received, ","), "size_bytes": format(upload.size_bytes, ",")}
            )
        return received

    def received_file(self, upload: UploadSession) -> File:
        return File(open(self.path(upload), "rb"), name=upload.filename)

    def place(self, upload: UploadSession, *, storage: Storage, name: str) -> str:
        if is_s3(storage):
            return super().place(upload, storage=storage, name=name)
        return local_place(self.path(upload), storage, name)

    def discard(self, upload: UploadSession) -> None:
        local_discard(self.path(upload))
