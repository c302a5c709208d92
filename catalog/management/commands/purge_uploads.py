"""Remove unfinished uploads that expired (their .part files or S3 multipart uploads)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_noop, ngettext

from catalog.cli import PeopleCommand
from catalog.uploads.services import upload_purge_expired


class Command(PeopleCommand):
    help = gettext_noop(
        "Remove expired, unfinished uploads and the bytes they left behind. Run it daily."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        count = upload_purge_expired()
        self.stdout.write(
            ngettext(
                "Removed %(count)d expired upload.", "Removed %(count)d expired uploads.", count
            )
            % {"count": count}
        )
