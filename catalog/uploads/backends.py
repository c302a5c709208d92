"""Which backend holds an upload's bytes: the one place that chooses."""

from __future__ import annotations

from catalog.models import UploadSession
from catalog.storage import private_storage
from catalog.uploads.base import UploadBackend, is_s3
from catalog.uploads.local import LocalUploadBackend
from catalog.uploads.s3 import S3UploadBackend

BACKENDS: dict[str, type[UploadBackend]] = {
    backend.name: backend for backend in (LocalUploadBackend, S3UploadBackend)
}


def upload_backend(upload: UploadSession) -> UploadBackend:
    """The backend an existing session was opened with (its ``backend`` field)."""
    return BACKENDS[upload.backend](private_storage())


def private_files() -> UploadBackend:
    """The backend of the private storage as configured now: new sessions open
    with it, and files derived from assets are written and read through it."""
    storage = private_storage()
    return (S3UploadBackend if is_s3(storage) else LocalUploadBackend)(storage)
