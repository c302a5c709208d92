"""What an inspection finds, and how it says no."""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass, field, fields
from typing import Any

from django.apps import apps
from django.utils.translation import gettext

RENDITION_SIZES = (1200, 600)  # pixels: the product page's cover, then cards and lists


class MediaRefused(Exception):
    """The file cannot be accepted; `reason` is written for the person who sent it.

    Readers run in a confined child that has no Django set up, so a refusal keeps
    its English message (marked with ``gettext_noop``) and its values apart;
    ``reason`` translates them in the process that shows the message.
    """

    def __init__(self, message: str, params: dict[str, object] | None = None) -> None:
        super().__init__(message % params if params else message)
        self.message, self.params = message, params or {}

    def __str__(self) -> str:
        return self.reason

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.message, self.params))

    @property
    def reason(self) -> str:
        text = self.message
        if apps.ready:  # never in the reader child
            text = gettext(text)
        return text % self.params if self.params else text


@dataclass(frozen=True, slots=True)
class CoverArt:
    """An embedded picture that passed the image inspection, offered as a product cover."""

    data: bytes = field(repr=False)
    mime: str
    width: int
    height: int

    def describe(self) -> dict[str, Any]:
        return {
            "mime": self.mime,
            "width": self.width,
            "height": self.height,
            "size_bytes": len(self.data),
        }


@dataclass(frozen=True, slots=True)
class Rendition:
    """One re-encoded size of an image, without EXIF, GPS or other metadata."""

    name: str  # e.g. "1200.webp"
    mime: str
    width: int
    height: int
    data: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class Inspection:
    """A file's description, read from its content. Unknown facts stay None."""

    kind: str  # ebook, audio, video, image, archive, other
    mime: str
    format: str  # a person's name for the format: "MP3 audio"
    duration_seconds: float | None = None
    bitrate: int | None = None  # bits per second
    sample_rate: int | None = None
    channels: int | None = None
    codec: str | None = None
    audio_codec: str | None = None  # the sound track's codec, in a video
    width: int | None = None
    height: int | None = None
    frames: int | None = None
    pages: int | None = None
    title: str | None = None
    authors: tuple[str, ...] = ()
    language: str | None = None
    encrypted: bool | None = None
    entries: int | None = None  # files in an archive
    tags: dict[str, str | int] = field(default_factory=dict)
    cover: CoverArt | None = None
    warnings: tuple[str, ...] = ()

    def details(self) -> dict[str, Any]:
        """JSON-ready facts (for Asset.metadata and `inspect_media`): only what is known."""
        out: dict[str, Any] = {}
        for item in fields(self):
            if item.name in ("kind", "mime"):
                continue
            value = getattr(self, item.name)
            if value is None or value == () or value == {}:
                continue
            if isinstance(value, CoverArt):
                value = value.describe()
            elif isinstance(value, tuple):
                value = list(value)
            out[item.name] = value
        return out


INSPECTION_FIELDS = frozenset(item.name for item in fields(Inspection))

_DROP = {"Cc", "Cs", "Co", "Cn"}
# Bidirectional overrides can make a title display as something else.
_BIDI_OVERRIDES = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def clean_text(value: object, limit: int = 500) -> str | None:
    """Text read from a file, made safe to store and print.

    Control characters (NUL breaks PostgreSQL text), lone surrogates and
    unassigned code points are dropped; whitespace is collapsed; long values cut.
    """
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    text = str(value)[: limit * 4]
    text = "".join(
        " " if ch in "\t\r\n" else ch
        for ch in text
        if ch in "\t\r\n" or (unicodedata.category(ch) not in _DROP and ch not in _BIDI_OVERRIDES)
    )
    text = " ".join(text.split())[:limit]
    return text or None


def finite(value: object, *, minimum: float = 0.0) -> float | None:
    """A measured number, or None when a damaged header gave NaN, infinity or a negative."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return None
    if not math.isfinite(number) or number < minimum:
        return None
    return number


def positive_int(value: object) -> int | None:
    number = finite(value)
    if number is None or number <= 0 or number > 2**53:
        return None
    return int(number)
