from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from catalog.discovery.services import search_reindex


class Command(BaseCommand):
    help = "Rebuild the search index from the catalog (after an upgrade, or a bulk change in SQL)."

    def handle(self, *args: Any, **options: Any) -> None:
        count = search_reindex()
        self.stdout.write(f"Indexed {count} published products.")
