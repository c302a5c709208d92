"""Where a visit came from: the referring site and the utm_source/utm_campaign tags.

Read from the request itself (the Referer header and the query string), never
from a cookie. The product page passes them on in its buy form, so an order
carries the source of the visit that led to it.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from urllib.parse import urlsplit

from django.http import HttpRequest

_TAG = re.compile(r"[^a-z0-9._~ -]+")


def _clean(value: str | None, limit: int = 100) -> str:
    return _TAG.sub("", (value or "").strip().lower())[:limit].strip()


@dataclass(frozen=True, slots=True)
class Attribution:
    ref: str = ""  # the referring host, without "www."; empty when direct or internal
    utm_source: str = ""
    utm_campaign: str = ""

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def referrer_host(referer: str | None, own_host: str) -> str:
    if not referer:
        return ""
    try:
        host = (urlsplit(referer).hostname or "").lower()
    except ValueError:
        return ""
    if host.startswith("www."):
        host = host[4:]
    own = own_host.split(":")[0].lower().removeprefix("www.")
    return "" if not host or host == own else _clean(host, 255)


def attribution_from_request(request: HttpRequest) -> Attribution:
    return Attribution(
        ref=referrer_host(request.headers.get("Referer"), request.get_host()),
        utm_source=_clean(request.GET.get("utm_source")),
        utm_campaign=_clean(request.GET.get("utm_campaign")),
    )


def attribution_from_form(data: dict[str, str] | object) -> Attribution:
    """The hidden fields of a buy form, cleaned again: they are client input."""
    get = getattr(data, "get", lambda key, default="": default)
    return Attribution(
        ref=_clean(get("ref", ""), 255),
        utm_source=_clean(get("utm_source", "")),
        utm_campaign=_clean(get("utm_campaign", "")),
    )
