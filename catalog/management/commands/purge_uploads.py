"""Remove unfinished uploads that expired (their .part files or S3 multipart uploads)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from catalog.uploads.services import upload_purge_expired


class Command(BaseCommand):
    help = "Remove expired, unfinished uploads and the bytes they left behind. Run it daily."

    def handle(self, *args: Any, **options: Any) -> None:
        count = upload_purge_expired()
        self.stdout.write(f"Removed {count} expired upload{'s' if count != 1 else ''}.")
