from __future__ import annotations

from django.http import HttpRequest

from catalog.paths import path_to
from catalog.seo.site import absolute, canonical_url


def seo(request: HttpRequest) -> dict[str, object]:
    """The canonical address of every page, and the shop's feed for ``<link rel=alternate>``."""
    return {
        "canonical_url": canonical_url(request),
        "shop_feed_url": absolute(path_to("seo:feed_shop"), request),
    }
