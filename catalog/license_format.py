"""The format of a product's license keys: a pattern, and keys made from it.

A pattern is what the key looks like: each ``X`` becomes one random character
of ``ALPHABET``, every other character is kept as written (a prefix, dashes):
``XXXX-XXXX-XXXX-XXXX``, ``NIGHT-XXXX-XXXX-XXXX-XXXX``. The alphabet leaves
out what reads alike (0/O, 1/I/L, 5/S, 8/B, 2/Z, U/V), so a key typed from a
screenshot works. A pattern needs ``MIN_RANDOM`` random characters (72 bits):
keys are checked over the network, and guessing must stay hopeless.

Comparing keys goes through ``license_key_normalize``: case and spaces never
matter. Pure functions, no ORM.
"""

from __future__ import annotations

import re
import secrets

from django.utils.translation import gettext

ALPHABET = "34679ACDEFGHJKMNPQRTWXY"
PLACEHOLDER = "X"
DEFAULT_PATTERN = "XXXX-XXXX-XXXX-XXXX"
MIN_RANDOM = 16
MAX_LENGTH = 64
LITERALS = re.compile(r"^[A-Z0-9._-]*$")


def license_pattern_error(pattern: str) -> str | None:
    """Why ``pattern`` cannot make keys, or None when it can."""
    if len(pattern) > MAX_LENGTH:
        return gettext("A key format has at most %(max)s characters.") % {"max": MAX_LENGTH}
    if not LITERALS.match(pattern):
        return gettext("Use capital letters, digits, dashes, dots and underscores.")
    if pattern.count(PLACEHOLDER) < MIN_RANDOM:
        return gettext(
            "Put at least %(min)s X in the format: each one is a random character, "
            "and fewer would make keys guessable."
        ) % {"min": MIN_RANDOM}
    return None


def license_key_make(pattern: str) -> str:
    """A new random key in ``pattern`` (checked by ``license_pattern_error`` first)."""
    return "".join(secrets.choice(ALPHABET) if char == PLACEHOLDER else char for char in pattern)


def license_key_normalize(key: str) -> str:
    """The key as stored: capitals, without spaces (buyers paste keys with both)."""
    return "".join(key.split()).upper()
