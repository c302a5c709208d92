"""The seller menu: one navigation for every ``/sell/`` page, whichever app serves it.

The catalog owns the menu and its own entries; the apps above it (commerce,
the dashboard) add theirs from their ``AppConfig.ready()``, so the bottom
layer never names them and every seller page shows the same menu.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse
from django.utils.functional import Promise


@dataclass(frozen=True, slots=True)
class MenuEntry:
    key: str  # what a page passes as ``active`` to mark itself current
    label: str | Promise
    url_name: str
    position: int

    @property
    def url(self) -> str:
        return reverse(self.url_name)


_ENTRIES: dict[str, MenuEntry] = {}


def seller_menu_add(*, key: str, label: str | Promise, url_name: str, position: int) -> None:
    """Add (or replace) one entry; ``position`` orders the menu."""
    _ENTRIES[key] = MenuEntry(key=key, label=label, url_name=url_name, position=position)


def seller_menu() -> list[MenuEntry]:
    return sorted(_ENTRIES.values(), key=lambda entry: entry.position)
