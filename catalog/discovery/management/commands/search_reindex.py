from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_noop, ngettext

from catalog.cli import PeopleCommand
from catalog.discovery.services import search_reindex


class Command(PeopleCommand):
    help = gettext_noop(
        "Rebuild the search index from the catalog (after an upgrade, or a bulk change in SQL)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        count = search_reindex()
        self.stdout.write(
            ngettext(
                "Indexed %(count)d published product.",
                "Indexed %(count)d published products.",
                count,
            )
            % {"count": count}
        )
