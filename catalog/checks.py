"""System checks of the catalog: limits that only hold in a cache every process shares."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning, register

PER_PROCESS_CACHES = (
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
)


@register(Tags.security, deploy=True)
def check_limits_cache(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    backend = settings.CACHES.get("default", {}).get("BACKEND", "")
    if settings.DEBUG or backend not in PER_PROCESS_CACHES:
        return []
    return [
        Warning(
            "The limits on sign-in attempts, discount codes and emails are counted in a "
            "per-process cache: each web worker counts alone, so N workers let N times "
            "as many through.",
            hint="Set CACHE_URL=redis://host:6379/0 (a Redis every web process shares), "
            "unless the shop runs as a single process.",
            id="catalog.W001",
        )
    ]
