"""Rendered markup kept under keys that name it, the process's own copies in front.

The product cards (decision 90) and the product page's parts (decision 107)
are kept under a digest of everything they show, so a key's value never
changes: an edit gives a new key. Such a value may be kept by the process
too, with no way to become stale, and a page whose values the process has
kept costs no round trip to the shared cache and no unpickling (24 cards
from the local-memory cache cost a home page 0.25 ms, decision 107). The
shared cache stays behind it, so each value is rendered once for every
process and node; each process keeps only its last ``size`` values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from django.core.cache import cache
from django.core.signals import setting_changed

_FRONTS: list[ProcessFront] = []


def _empty(key: str) -> list[Any]:
    return []


class ProcessFront:
    def __init__(self, size: int) -> None:
        # One slot per key: empty until its value is known (two threads filling one slot
        # put the same value in it twice).
        self._slot = lru_cache(maxsize=size)(_empty)
        _FRONTS.append(self)

    def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        found: dict[str, Any] = {}
        missing = []
        for key in keys:
            slot = self._slot(key)
            if slot:
                found[key] = slot[0]
            else:
                missing.append(key)
        if missing:
            shared = cache.get_many(missing)
            for key, value in shared.items():
                self._slot(key).append(value)
            found.update(shared)
        return found

    def set_many(self, values: Mapping[str, Any], timeout: int) -> None:
        cache.set_many(dict(values), timeout)
        for key, value in values.items():
            slot = self._slot(key)
            if not slot:
                slot.append(value)

    def clear(self) -> None:
        self._slot.cache_clear()


def fronts_forget(**kwargs: object) -> None:
    """Drop every process's copies: tests clear the shared cache and these with it, and a
    changed setting (a test's) may give the same key another value."""
    for front in _FRONTS:
        front.clear()


setting_changed.connect(fronts_forget)
