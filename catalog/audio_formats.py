"""The formats a lossless music file can be delivered in, as a seller offers them.

Only the keys and their names live here (a product setting the catalog
stores); how each one is made is ``delivery.formats.presets``, which has a
preset for every key.
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

StrOrPromise = str | Promise

AUDIO_FORMATS: tuple[tuple[str, StrOrPromise], ...] = (
    ("flac", _("FLAC (lossless)")),
    ("alac", _("ALAC, Apple Lossless")),
    ("mp3-320", _("MP3 320 kbit/s")),
    ("mp3-v0", _("MP3 V0 (variable)")),
    ("aac-256", _("AAC 256 kbit/s")),
    ("vorbis-q6", _("Ogg Vorbis q6")),
    ("opus-160", _("Opus 160 kbit/s")),
)
AUDIO_FORMAT_KEYS = tuple(key for key, _label in AUDIO_FORMATS)


def all_audio_formats() -> list[str]:
    """A new product offers every format; the seller unticks the ones not wanted."""
    return list(AUDIO_FORMAT_KEYS)
