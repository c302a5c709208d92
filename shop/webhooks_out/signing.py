"""The signature of a delivery, as a receiver checks it.

Each delivery carries ``Echoppe-Signature: t=<unix time>,v1=<hex>``, where
``<hex>`` is HMAC-SHA256, keyed with the endpoint's secret (the whole
``whsec_...`` string, as UTF-8), of ``f"{t}.".encode() + body`` — the raw
request body, byte for byte. While a rolled secret overlaps its successor
there are two ``v1=`` entries, the new secret's first; a receiver accepts the
delivery when any one matches a secret it holds. ``t`` lets it refuse old
deliveries (five minutes is a usual tolerance); the body's ``id`` (also in
``Echoppe-Event-Id``) stays the same on every retry and replay, for
idempotency.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"  # noqa: S105 (a public marker, not a secret)
HEADER = "Echoppe-Signature"


def secret_generate() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(*, secret: str, timestamp: int, body: bytes) -> str:
    signed = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_header(*, secrets_: list[str], timestamp: int, body: bytes) -> str:
    """``t=...,v1=...`` with one ``v1`` per secret, in the order given."""
    parts = [f"t={timestamp}"]
    parts += [f"v1={signature(secret=s, timestamp=timestamp, body=body)}" for s in secrets_]
    return ",".join(parts)


def signature_verify(
    *, header: str, body: bytes, secret: str, now: int, tolerance: int = 300
) -> bool:
    """What a receiver does (used by the tests and the README's example)."""
    fields = [part.split("=", 1) for part in header.split(",") if "=" in part]
    stamps = [value for name, value in fields if name == "t"]
    if len(stamps) != 1 or not stamps[0].isdigit() or abs(now - int(stamps[0])) > tolerance:
        return False
    expected = signature(secret=secret, timestamp=int(stamps[0]), body=body)
    return any(hmac.compare_digest(expected, value) for name, value in fields if name == "v1")
