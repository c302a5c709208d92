"""The one limiter: every limit on what a person may ask for, counted in the shared cache.

A limit is a :class:`Rate` (``count`` per ``seconds``) over a *scope* (what is
limited: ``login-account``, ``mail-recipient``...) and a *subject* (who or what
is counted: a typed email, a client address, an account). Counters live in
Django's default cache, so with ``CACHE_URL=redis://...`` every web process
counts against the same numbers; the embedded ``locmem://`` counts per process
(``manage.py check --deploy`` warns about it, ``catalog.W001``).

Windows are fixed: the key of a counter names its window
(``limit:<scope>:<sha256 of the subject>:<window number>``), so one hit is one
atomic ``add`` + ``incr`` and a window ends by itself, whatever the cache's own
expiry does. At a window's edge a client can get up to twice the count in a
short while; for limits meant to stop thousands of guesses or mails that is
harmless, and it keeps every backend (locmem, Redis) exact with one increment.
A refused hit still counts, so hammering while refused gains nothing.

Every outgoing mail that a person can trigger (password reset, verification,
lost library link, claim link, sign-up, free-checkout receipt) passes
:func:`mail_limit` before it is enqueued: per recipient address and per sender
(the client's address, and the account when there is one), one budget shared
by every path. Login and discount codes have their own scopes.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext

from catalog.accounts import email_normalize


def now() -> float:
    """The limiter's clock (tests move it instead of sleeping)."""
    return time.time()


@dataclass(frozen=True)
class Rate:
    count: int
    seconds: int

    @classmethod
    def of(cls, value: tuple[int, int]) -> Rate:
        return cls(count=int(value[0]), seconds=int(value[1]))


class Limited(Exception):
    """A limit is reached; ``retry_after`` is the number of seconds until it lifts."""

    def __init__(self, message: str, *, retry_after: int, scope: str) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after
        self.scope = scope

    @property
    def wait(self) -> str:
        """When to try again, in words."""
        return wait_words(self.retry_after)


def wait_words(seconds: int) -> str:
    if seconds < 60:
        return "in a minute"
    minutes = math.ceil(seconds / 60)
    if minutes < 90:
        return f"in {minutes} minute{'s' if minutes != 1 else ''}"
    return f"in about {round(minutes / 60)} hours"


def _key(scope: str, subject: str, window: int) -> str:
    digest = hashlib.sha256(subject.encode()).hexdigest()[:32]
    return f"limit:{scope}:{digest}:{window}"


def _window(rate: Rate, at: float) -> tuple[int, int]:
    """The window number at ``at`` and the whole seconds left in it."""
    number = int(at // rate.seconds)
    left = max(1, math.ceil((number + 1) * rate.seconds - at))
    return number, left


def limit_hit(*, scope: str, subject: str, rate: Rate, message: str) -> None:
    """Count one attempt of ``subject``; raise :class:`Limited` past ``rate.count``."""
    number, left = _window(rate, now())
    key = _key(scope, subject, number)
    # The key outlives its window a little so that a process whose clock is
    # slightly behind still finds it; no key is ever read after that.
    cache.add(key, 0, timeout=rate.seconds + 60)
    try:
        count = cache.incr(key)
    except ValueError:  # evicted between add and incr
        cache.add(key, 0, timeout=rate.seconds + 60)
        count = cache.incr(key)
    if count > rate.count:
        raise Limited(message, retry_after=left, scope=scope)


def limit_refund(*, scope: str, subject: str, rate: Rate) -> None:
    """Give back one attempt (a login that turned out right)."""
    number, _ = _window(rate, now())
    try:
        if cache.decr(_key(scope, subject, number)) < 0:
            cache.incr(_key(scope, subject, number))
    except ValueError:
        pass  # the window ended meanwhile: nothing to give back


def _rate(name: str) -> Rate:
    return Rate.of(getattr(settings, name))


# --- Who is asking -------------------------------------------------------------------


def _valid_ip(candidate: str) -> str | None:
    try:
        address = ipaddress.ip_address(candidate.strip())
    except ValueError:
        return None
    # A zone (fe80::1%eth0) means nothing off this host, and PostgreSQL's inet refuses it.
    return str(address).split("%", 1)[0]


def client_ip(request: HttpRequest) -> str | None:
    """The client's address: the connection's own, or, behind
    ``TRUSTED_PROXY_COUNT`` proxies, the one the outermost proxy saw."""
    hops = settings.TRUSTED_PROXY_COUNT
    if hops > 0:
        # Each proxy appends what it saw; entries further left are client input.
        forwarded = [
            p for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if p.strip()
        ]
        if len(forwarded) >= hops:
            return _valid_ip(forwarded[-hops])
    return _valid_ip(request.META.get("REMOTE_ADDR", ""))


def _client_subject(request: HttpRequest) -> str:
    address = client_ip(request) or "unknown"
    if ":" in address:
        # One IPv6 host usually holds a whole /64: count the network, not each address.
        address = str(ipaddress.ip_network(f"{address}/64", strict=False))
    return f"ip:{address}"


def _senders(request: HttpRequest) -> list[str]:
    senders = [_client_subject(request)]
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        senders.append(f"user:{user.pk}")
    return senders


# --- The limits ----------------------------------------------------------------------


def mail_limit(*, request: HttpRequest, recipients: Iterable[str]) -> None:
    """Call before enqueueing any mail a person's request triggers.

    Counts one mail for each recipient address and for the sender (the client's
    address, and the account when signed in); raises :class:`Limited` when any
    is over its limit, and then nothing should be sent.
    """
    message = (
        "Too many emails have been asked for, from here or to this address. "
        "Nothing was sent this time."
    )
    sender_rate = _rate("LIMIT_MAIL_SENDER")
    for sender in _senders(request):
        limit_hit(scope="mail-sender", subject=sender, rate=sender_rate, message=message)
    recipient_rate = _rate("LIMIT_MAIL_RECIPIENT")
    for recipient in recipients:
        limit_hit(
            scope="mail-recipient",
            subject=email_normalize(recipient),
            rate=recipient_rate,
            message=message,
        )


LOGIN_MESSAGE = "Too many sign-in attempts. For your safety, signing in is paused for a while."


def _login_subjects(request: HttpRequest, identifier: str) -> list[tuple[str, str, Rate]]:
    # The identifier as typed, known or not: an unknown email is counted (and
    # refused) exactly like a real one, so the limit reveals no account.
    return [
        ("login-account", email_normalize(identifier), _rate("LIMIT_LOGIN_ACCOUNT")),
        ("login-client", _client_subject(request), _rate("LIMIT_LOGIN_CLIENT")),
    ]


def login_limit(*, request: HttpRequest, identifier: str) -> None:
    """Count one sign-in attempt for the identifier typed and for the client.

    Every attempt counts, before the password is checked, so parallel guesses
    cannot slip past; a right password gives its attempt back
    (:func:`login_succeeded`). While limited, the right password is refused too.
    """
    for scope, subject, rate in _login_subjects(request, identifier):
        limit_hit(scope=scope, subject=subject, rate=rate, message=LOGIN_MESSAGE)


def login_succeeded(*, request: HttpRequest, identifier: str) -> None:
    for scope, subject, rate in _login_subjects(request, identifier):
        limit_refund(scope=scope, subject=subject, rate=rate)


def code_limit(*, request: HttpRequest) -> None:
    """Count one discount code typed at checkout (cart or product page) by this client."""
    limit_hit(
        scope="discount-code",
        subject=_client_subject(request),
        rate=_rate("LIMIT_DISCOUNT_CODE"),
        message="Too many discount codes tried from here.",
    )


def follow_limit(*, request: HttpRequest) -> None:
    """Count one request to follow a creator from this client (its mail is counted apart)."""
    limit_hit(
        scope="follow-client",
        subject=_client_subject(request),
        rate=_rate("LIMIT_FOLLOW"),
        message=gettext("Too many follow requests from here."),
    )


def api_limit(*, subject: str) -> None:
    """Count one API request of ``subject`` (a token: ``token:<id>``)."""
    limit_hit(
        scope="api-token",
        subject=subject,
        rate=_rate("LIMIT_API_TOKEN"),
        message="Too many requests with this token.",
    )


# --- The answer ----------------------------------------------------------------------


def limited_response(
    request: HttpRequest,
    exc: Limited,
    *,
    template: str = "429.html",
    context: dict[str, Any] | None = None,
) -> HttpResponse:
    """429 with ``Retry-After``, rendering ``template`` (a form keeps what was typed)."""
    page = {"limited": exc, "limit_message": f"{exc.message} Please try again {exc.wait}."}
    response = render(request, template, {**(context or {}), **page}, status=429)
    response["Retry-After"] = str(exc.retry_after)
    return response
