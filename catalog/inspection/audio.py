"""Audio (and the audio side of video) through mutagen: stream facts, tags, cover art.

Tags are normalised across the tag systems mutagen reads (ID3, Vorbis
comments, MP4 atoms, APEv2, ASF) into one small vocabulary: title, artist,
album, album_artist, track_number, track_total, disc_number, year, genre.
An embedded picture becomes a `CoverArt` only after it passes the same image
checks as an uploaded cover.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
import struct
import warnings
from dataclasses import dataclass, field
from typing import Any

import mutagen
from django.utils.translation import gettext_noop
from mutagen.aac import AAC
from mutagen.ac3 import AC3
from mutagen.aiff import AIFF
from mutagen.apev2 import APEv2
from mutagen.asf import ASF, ASFTags
from mutagen.dsdiff import DSDIFF
from mutagen.dsf import DSF
from mutagen.flac import FLAC, Picture
from mutagen.id3 import ID3Tags
from mutagen.monkeysaudio import MonkeysAudio
from mutagen.mp3 import MP3
from mutagen.mp4 import MP4, MP4Tags
from mutagen.musepack import Musepack
from mutagen.oggflac import OggFLAC
from mutagen.oggopus import OggOpus
from mutagen.oggspeex import OggSpeex
from mutagen.oggtheora import OggTheora
from mutagen.oggvorbis import OggVorbis
from mutagen.optimfrog import OptimFROG
from mutagen.smf import SMF
from mutagen.tak import TAK
from mutagen.trueaudio import TrueAudio
from mutagen.wave import WAVE
from mutagen.wavpack import WavPack

from catalog.inspection import images
from catalog.inspection.types import CoverArt, MediaRefused, clean_text, finite, positive_int
from catalog.media import format_name, sniff

MAX_COVER_BYTES = 16 * 1024 * 1024

_OGG: list[type[mutagen.FileType]] = [OggVorbis, OggOpus, OggFLAC, OggSpeex, OggTheora]

READERS: dict[str, list[type[mutagen.FileType]]] = {
    "audio/mpeg": [MP3],
    "audio/flac": [FLAC],
    "audio/ogg": _OGG,
    "audio/ogg; codecs=opus": _OGG,
    "application/ogg": _OGG,
    "video/ogg": _OGG,
    "audio/wav": [WAVE],
    "audio/aiff": [AIFF],
    "audio/mp4": [MP4],
    "video/mp4": [MP4],
    "video/x-m4v": [MP4],
    "video/quicktime": [MP4],
    "video/3gpp": [MP4],
    "video/3gpp2": [MP4],
    "audio/aac": [AAC],
    "audio/ac3": [AC3],
    "audio/midi": [SMF],
    "audio/x-ms-wma": [ASF],
    "audio/x-ape": [MonkeysAudio],
    "audio/x-wavpack": [WavPack],
    "audio/x-musepack": [Musepack],
    "audio/x-dsf": [DSF],
    "audio/x-dff": [DSDIFF],
    "audio/x-tak": [TAK],
    "audio/x-optimfrog": [OptimFROG],
    "audio/x-tta": [TrueAudio],
}

_CODECS: dict[type, str] = {
    FLAC: "flac",
    OggVorbis: "vorbis",
    OggOpus: "opus",
    OggFLAC: "flac",
    OggSpeex: "speex",
    OggTheora: "theora",
    WAVE: "pcm",
    AIFF: "pcm",
    AAC: "aac",
    SMF: "midi",
    MonkeysAudio: "ape",
    WavPack: "wavpack",
    Musepack: "musepack",
    DSF: "dsd",
    DSDIFF: "dsd",
    TAK: "tak",
    OptimFROG: "optimfrog",
    TrueAudio: "tta",
}


@dataclass
class AudioFacts:
    reader: type
    duration_seconds: float | None = None
    bitrate: int | None = None
    sample_rate: int | None = None
    channels: int | None = None
    codec: str | None = None
    tags: dict[str, str | int] = field(default_factory=dict)
    cover: CoverArt | None = None
    warnings: list[str] = field(default_factory=list)


def read(path: str, mime: str) -> AudioFacts:
    """Parse a file that `sniff` called `mime` with the mutagen reader(s) for that format."""
    name = format_name(mime)
    candidates = READERS[mime]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if len(candidates) == 1:
                parsed = candidates[0](path)
            else:
                parsed = mutagen.File(path, options=candidates)
    except MemoryError:
        raise
    except Exception as error:  # mutagen raises its own errors and plain struct/Index/ValueErrors
        raise MediaRefused(
            gettext_noop("This %(name)s is damaged and cannot be read (%(detail)s)."),
            {"name": name, "detail": _detail(error)},
        ) from error
    if parsed is None or parsed.info is None:
        raise MediaRefused(
            gettext_noop("This %(name)s uses a codec that cannot be read here."), {"name": name}
        )
    info = parsed.info
    facts = AudioFacts(reader=type(parsed))
    facts.duration_seconds = finite(getattr(info, "length", None))
    if facts.duration_seconds is not None:
        facts.duration_seconds = round(facts.duration_seconds, 3)
    facts.bitrate = positive_int(getattr(info, "bitrate", None))
    facts.sample_rate = positive_int(getattr(info, "sample_rate", None))
    facts.channels = positive_int(getattr(info, "channels", None))
    facts.codec = _codec(parsed)
    try:
        facts.tags = _tags(parsed.tags)
    except Exception:  # a broken tag block loses the tags, not the file
        facts.warnings.append("Its tags are damaged and were ignored.")
    try:
        facts.cover = _cover(parsed, facts.warnings)
    except MemoryError:
        raise
    except Exception:
        facts.warnings.append("Its embedded cover art is damaged and was ignored.")
    return facts


def _detail(error: BaseException) -> str:
    text = str(error).strip().rstrip(".") or type(error).__name__
    return text[:160]


def _codec(parsed: Any) -> str | None:
    info = parsed.info
    if isinstance(parsed, MP3):
        return {1: "mp1", 2: "mp2"}.get(getattr(info, "layer", 3), "mp3")
    if isinstance(parsed, MP4 | AC3):
        return clean_text(getattr(info, "codec", None), 40)
    if isinstance(parsed, ASF):
        return clean_text(getattr(info, "codec_name", None), 40)
    return _CODECS.get(type(parsed))


# --- tags --------------------------------------------------------------------

_VORBIS = {
    "title": ("title",),
    "artist": ("artist",),
    "album": ("album",),
    "album_artist": ("albumartist", "album artist", "album_artist"),
    "track": ("tracknumber",),
    "track_total": ("tracktotal", "totaltracks"),
    "disc": ("discnumber",),
    "year": ("date", "year", "originaldate"),
    "genre": ("genre",),
}
_APE = {
    "title": ("title",),
    "artist": ("artist",),
    "album": ("album",),
    "album_artist": ("album artist", "albumartist"),
    "track": ("track",),
    "disc": ("disc",),
    "year": ("year",),
    "genre": ("genre",),
}
_ASF = {
    "title": ("Title",),
    "artist": ("Author", "WM/AlbumArtist"),
    "album": ("WM/AlbumTitle",),
    "album_artist": ("WM/AlbumArtist",),
    "track": ("WM/TrackNumber", "WM/Track"),
    "disc": ("WM/PartOfSet",),
    "year": ("WM/Year",),
    "genre": ("WM/Genre",),
}
_ID3 = {
    "title": ("TIT2",),
    "artist": ("TPE1",),
    "album": ("TALB",),
    "album_artist": ("TPE2",),
    "track": ("TRCK",),
    "disc": ("TPOS",),
    "year": ("TDRC", "TYER", "TDOR"),
    "genre": ("TCON",),
}
_MP4 = {
    "title": ("\xa9nam",),
    "artist": ("\xa9ART",),
    "album": ("\xa9alb",),
    "album_artist": ("aART",),
    "year": ("\xa9day",),
    "genre": ("\xa9gen",),
}


def _first_text(value: Any) -> str | None:
    if isinstance(value, list | tuple):
        value = value[0] if value else None
    if value is None:
        return None
    text = getattr(value, "text", None)  # ID3 frames
    if text is not None:
        return _first_text(text)
    if hasattr(value, "value") and not isinstance(value, str | bytes):  # ASF / APE values
        value = value.value
    if isinstance(value, bytes):
        return None
    return clean_text(value, 300)


def _lookup(tags: Any, keys: tuple[str, ...], case_insensitive: bool) -> str | None:
    for key in keys:
        try:
            found = tags.get(key)
        except (KeyError, ValueError, TypeError):
            found = None
        if found is None and case_insensitive:
            found = next((v for k, v in tags.items() if str(k).lower() == key), None)
        text = _first_text(found)
        if text:
            return text
    return None


_NUMBER = re.compile(r"\s*(\d{1,4})(?:\s*/\s*(\d{1,4}))?")
_YEAR = re.compile(r"(?<!\d)(\d{4})(?!\d)")


def _tags(tags: Any) -> dict[str, str | int]:
    if tags is None:
        return {}
    raw: dict[str, str | None] = {}
    if isinstance(tags, ID3Tags):
        raw = {name: _lookup(tags, keys, False) for name, keys in _ID3.items()}
        genre = tags.get("TCON")
        if genre is not None and genre.genres:
            raw["genre"] = clean_text(genre.genres[0], 300)  # "(17)" means "Rock"
    elif isinstance(tags, MP4Tags):
        raw = {name: _lookup(tags, keys, False) for name, keys in _MP4.items()}
        for atom, name in (("trkn", "track"), ("disk", "disc")):
            pairs = tags.get(atom)
            if pairs and isinstance(pairs[0], tuple) and pairs[0]:
                number, total = [*pairs[0], 0][:2]
                raw[name] = f"{number}/{total}" if total else str(number)
    elif isinstance(tags, APEv2):
        raw = {name: _lookup(tags, keys, True) for name, keys in _APE.items()}
    elif isinstance(tags, ASFTags):
        raw = {name: _lookup(tags, keys, False) for name, keys in _ASF.items()}
    elif hasattr(tags, "keys") and hasattr(tags, "get"):  # Vorbis comments (Ogg, FLAC)
        raw = {name: _lookup(tags, keys, True) for name, keys in _VORBIS.items()}
    out: dict[str, str | int] = {}
    for name in ("title", "artist", "album", "album_artist", "genre"):
        if raw.get(name):
            out[name] = raw[name]  # type: ignore[assignment]
    for name, total_name in (("track", "track_total"), ("disc", "disc_total")):
        match = _NUMBER.match(raw.get(name) or "")
        if match and int(match.group(1)) > 0:
            out[f"{name}_number"] = int(match.group(1))
            if match.group(2) and int(match.group(2)) > 0:
                out[total_name] = int(match.group(2))
    if "track_total" not in out and raw.get("track_total"):
        total = _NUMBER.match(raw["track_total"] or "")
        if total and int(total.group(1)) > 0:
            out["track_total"] = int(total.group(1))
    year = _YEAR.search(raw.get("year") or "")
    if year and 1000 <= int(year.group(1)) <= 2999:
        out["year"] = int(year.group(1))
    return out


# --- cover art ---------------------------------------------------------------


def _pictures(parsed: Any) -> list[tuple[int, bytes]]:
    """(picture type, bytes) of every embedded picture; type 3 is the front cover."""
    found: list[tuple[int, bytes]] = []
    tags = parsed.tags
    if isinstance(parsed, FLAC):
        found += [(picture.type, picture.data) for picture in parsed.pictures]
    if isinstance(tags, ID3Tags):
        found += [(frame.type, frame.data) for frame in tags.getall("APIC")]
    elif isinstance(tags, MP4Tags):
        found += [(3, bytes(cover)) for cover in tags.get("covr", [])]
    elif isinstance(tags, APEv2):
        for key, value in tags.items():
            if key.lower().startswith("cover art") and isinstance(value.value, bytes):
                found.append(
                    (3 if "front" in key.lower() else 0, value.value.split(b"\x00", 1)[-1])
                )
    elif isinstance(tags, ASFTags):
        for value in tags.get("WM/Picture", []):
            asf_picture = _asf_picture(value.value)
            if asf_picture:
                found.append(asf_picture)
    elif tags is not None and hasattr(tags, "get"):
        for encoded in tags.get("metadata_block_picture", []):
            try:
                picture = Picture(base64.b64decode(encoded))
            except (binascii.Error, ValueError, TypeError, struct.error, mutagen.MutagenError):
                continue
            found.append((picture.type, picture.data))
    return found


def _asf_picture(data: bytes) -> tuple[int, bytes] | None:
    # WM/Picture: type u8, size u32le, mime and description as NUL-terminated UTF-16LE.
    if len(data) < 9:
        return None
    kind, size = data[0], struct.unpack("<I", data[1:5])[0]
    pos = 5
    for _ in range(2):
        end = pos
        while end + 1 < len(data) and data[end : end + 2] != b"\x00\x00":
            end += 2
        pos = end + 2
    picture = data[pos : pos + size]
    return (kind, picture) if picture else None


def _cover(parsed: Any, notes: list[str]) -> CoverArt | None:
    pictures = sorted(_pictures(parsed), key=lambda item: item[0] != 3)
    for _kind, data in pictures:
        if not data or len(data) > MAX_COVER_BYTES:
            continue
        mime = sniff(io.BytesIO(data)).mime
        try:
            width, height = images.image_size(data, mime)
        except MediaRefused as refused:
            notes.append(f"Its embedded cover art was not usable: {refused.reason}")
            continue
        return CoverArt(data=data, mime=mime, width=width, height=height)
    return None
