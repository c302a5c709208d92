"""System checks: a delivery backend that cannot reach the private storage is
a configuration error, reported by ``manage.py check`` rather than as a 500 on
the first download."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register
from django.core.files.storage import FileSystemStorage
from django.utils.module_loading import import_string


def _private_storage_class() -> type | None:
    try:
        configured: dict[str, dict[str, Any]] = getattr(settings, "STORAGES", {})
        found = import_string(configured["default"]["BACKEND"])
    except (ImportError, KeyError):
        return None  # Django's own checks report a broken STORAGES
    return found if isinstance(found, type) else None


@register()
def check_delivery_backend(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    backend = settings.DELIVERY_BACKEND
    storage = _private_storage_class()
    if storage is None:
        return []
    on_disk = issubclass(storage, FileSystemStorage)
    if backend in ("x-accel", "x-sendfile") and not on_disk:
        return [
            Error(
                f"DELIVERY_BACKEND={backend} hands the web server a file on disk, "
                "but the private storage is not on this machine's disk.",
                hint="Use DELIVERY_BACKEND=s3 with STORAGE=s3, or STORAGE=local.",
                id="delivery.E001",
            )
        ]
    if backend == "s3" and on_disk:
        return [
            Error(
                "DELIVERY_BACKEND=s3 redirects to presigned URLs, "
                "but the private storage is the local disk.",
                hint="Set STORAGE=s3 (and the S3_* variables), or DELIVERY_BACKEND=stream.",
                id="delivery.E002",
            )
        ]
    return []
