"""Video containers read by hand, within fixed bounds: MP4 boxes and Matroska/WebM EBML.

mutagen reads an MP4's duration, bit rate and audio stream but not the picture
size, and does not read Matroska at all. These readers fill the gap:

* **MP4 / MOV / 3GP** (ISO base media, ISO/IEC 14496-12): a file is a list of
  boxes (`size:u32 type:4cc`, `size == 1` → a 64-bit size follows, `size == 0`
  → to the end). `moov/trak/tkhd` holds each track's presentation width and
  height as 16.16 fixed point; `moov/trak/mdia/hdlr` says whether the track is
  video (`vide`) or sound (`soun`); `moov/trak/mdia/minf/stbl/stsd` names the
  codec (`avc1`, `hvc1`, `av01`...).
* **Matroska / WebM** (RFC 9559): EBML elements (`id:vint size:vint data`).
  Read: the header's DocType; in the Segment, Info (TimecodeScale, Duration)
  and Tracks (TrackType, CodecID, PixelWidth/Height, SamplingFrequency,
  Channels). Reading stops at the first Cluster (the media data). Tags,
  chapters and attachments are not read.

Every walk visits at most `MAX_ELEMENTS` boxes or elements and reads no
payload bigger than a few hundred bytes, whatever sizes the file claims.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO

from django.utils.translation import gettext_noop

from catalog.inspection.types import MediaRefused, finite, positive_int

MAX_ELEMENTS = 20_000


@dataclass
class Track:
    kind: str  # video, audio, other
    codec: str | None = None
    width: int | None = None
    height: int | None = None
    sample_rate: int | None = None
    channels: int | None = None


@dataclass
class Container:
    tracks: list[Track] = field(default_factory=list)
    duration_seconds: float | None = None
    doc_type: str | None = None

    def first(self, kind: str) -> Track | None:
        return next((track for track in self.tracks if track.kind == kind), None)


class _Budget:
    def __init__(self) -> None:
        self.left = MAX_ELEMENTS

    def spend(self) -> None:
        self.left -= 1
        if self.left < 0:
            raise MediaRefused(
                gettext_noop("This video's structure is too deeply nested or too long to read.")
            )


# --- MP4 -------------------------------------------------------------------


def _boxes(
    fp: IO[bytes], start: int, end: int, budget: _Budget
) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, box end) of each box between start and end."""
    pos = start
    while pos + 8 <= end:
        budget.spend()
        fp.seek(pos)
        header = fp.read(8)
        if len(header) < 8:
            return
        size, kind = struct.unpack(">I4s", header)
        header_len = 8
        if size == 1:
            large = fp.read(8)
            if len(large) < 8:
                return
            (size,) = struct.unpack(">Q", large)
            header_len = 16
        elif size == 0:
            size = end - pos
        if size < header_len:
            return
        yield kind, pos + header_len, min(pos + size, end)
        pos += size


def _child(
    fp: IO[bytes], start: int, end: int, kind: bytes, budget: _Budget
) -> tuple[int, int] | None:
    for found, payload, box_end in _boxes(fp, start, end, budget):
        if found == kind:
            return payload, box_end
    return None


def _read_at(fp: IO[bytes], pos: int, length: int) -> bytes:
    fp.seek(pos)
    return fp.read(length)


def mp4_tracks(fp: IO[bytes], file_size: int) -> Container:
    """Tracks of an ISO base media file, from `moov`. Raises MediaRefused without one."""
    budget = _Budget()
    moov = _child(fp, 0, file_size, b"moov", budget)
    if moov is None:
        raise MediaRefused(
            gettext_noop(
                "This video has no index ('moov' box): it is incomplete or "
                "was not finished writing."
            )
        )
    container = Container()
    for kind, payload, end in _boxes(fp, moov[0], moov[1], budget):
        if kind != b"trak":
            continue
        track = Track(kind="other")
        tkhd = _child(fp, payload, end, b"tkhd", budget)
        if tkhd is not None:
            head = _read_at(fp, tkhd[0], 92)
            offset = 88 if head[:1] == b"\x01" else 76
            if len(head) >= offset + 8:
                width, height = struct.unpack(">II", head[offset : offset + 8])
                track.width, track.height = positive_int(width >> 16), positive_int(height >> 16)
        mdia = _child(fp, payload, end, b"mdia", budget)
        if mdia is not None:
            hdlr = _child(fp, mdia[0], mdia[1], b"hdlr", budget)
            if hdlr is not None:
                handler = _read_at(fp, hdlr[0] + 8, 4)
                track.kind = {b"vide": "video", b"soun": "audio"}.get(handler, "other")
            track.codec = _mp4_codec(fp, mdia, budget)
        if track.kind != "video":
            track.width = track.height = None
        container.tracks.append(track)
    return container


def _mp4_codec(fp: IO[bytes], mdia: tuple[int, int], budget: _Budget) -> str | None:
    minf = _child(fp, mdia[0], mdia[1], b"minf", budget)
    stbl = minf and _child(fp, minf[0], minf[1], b"stbl", budget)
    stsd = stbl and _child(fp, stbl[0], stbl[1], b"stsd", budget)
    if not stsd:
        return None
    # stsd: version/flags (4), entry count (4), then sample entries (size, 4cc).
    entry = _read_at(fp, stsd[0] + 8, 8)
    if len(entry) < 8:
        return None
    codec = entry[4:8].decode("latin-1").strip()
    return codec if codec.isprintable() and codec else None


# --- Matroska / WebM ---------------------------------------------------------

_EBML = 0x1A45DFA3
_DOC_TYPE = 0x4282
_SEGMENT = 0x18538067
_INFO = 0x1549A966
_TIMECODE_SCALE = 0x2AD7B1
_DURATION = 0x4489
_TRACKS = 0x1654AE6B
_TRACK_ENTRY = 0xAE
_TRACK_TYPE = 0x83
_CODEC_ID = 0x86
_VIDEO = 0xE0
_AUDIO = 0xE1
_PIXEL_WIDTH = 0xB0
_PIXEL_HEIGHT = 0xBA
_SAMPLING_FREQUENCY = 0xB5
_CHANNELS = 0x9F
_CLUSTER = 0x1F43B675
_UNKNOWN = -1


def _vint(fp: IO[bytes], keep_marker: bool) -> tuple[int, int] | None:
    first = fp.read(1)
    if not first:
        return None
    byte = first[0]
    length = 1
    mask = 0x80
    while length <= 8 and not byte & mask:
        mask >>= 1
        length += 1
    if length > 8:
        raise MediaRefused(gettext_noop("This Matroska/WebM file has an invalid element header."))
    rest = fp.read(length - 1)
    if len(rest) < length - 1:
        return None
    value = byte if keep_marker else byte & (mask - 1)
    for extra in rest:
        value = (value << 8) | extra
    if not keep_marker and value == (1 << (7 * length)) - 1:
        return _UNKNOWN, length
    return value, length


def _elements(
    fp: IO[bytes], start: int, end: int, budget: _Budget
) -> Iterator[tuple[int, int, int]]:
    """(id, payload start, element end) of each element between start and end."""
    pos = start
    while pos < end:
        budget.spend()
        fp.seek(pos)
        element_id = _vint(fp, keep_marker=True)
        size = _vint(fp, keep_marker=False)
        if element_id is None or size is None:
            return
        payload = pos + element_id[1] + size[1]
        element_end = end if size[0] == _UNKNOWN else min(payload + size[0], end)
        yield element_id[0], payload, element_end
        if size[0] == _UNKNOWN:
            return
        pos = element_end


def _uint(fp: IO[bytes], start: int, end: int) -> int | None:
    if not 0 < end - start <= 8:
        return None
    return int.from_bytes(_read_at(fp, start, end - start), "big")


def _float(fp: IO[bytes], start: int, end: int) -> float | None:
    data = _read_at(fp, start, end - start) if end - start in (4, 8) else b""
    if len(data) == 4:
        return finite(struct.unpack(">f", data)[0])
    if len(data) == 8:
        return finite(struct.unpack(">d", data)[0])
    return None


def _string(fp: IO[bytes], start: int, end: int) -> str | None:
    if not 0 < end - start <= 256:
        return None
    text = _read_at(fp, start, end - start).rstrip(b"\x00").decode("utf-8", "replace")
    return text or None


def matroska_info(fp: IO[bytes], file_size: int) -> Container:
    budget = _Budget()
    elements = _elements(fp, 0, file_size, budget)
    header = next(elements, None)
    if header is None or header[0] != _EBML:
        raise MediaRefused(
            gettext_noop("This is not a Matroska/WebM file: its EBML header is missing.")
        )
    container = Container()
    for element_id, start, end in _elements(fp, header[1], header[2], budget):
        if element_id == _DOC_TYPE:
            container.doc_type = _string(fp, start, end)
    if container.doc_type not in ("webm", "matroska"):
        raise MediaRefused(
            gettext_noop("This EBML file is a “%(value)s” document, not a Matroska or WebM video."),
            {"value": container.doc_type or "unnamed"},
        )
    segment = next(((s, e) for i, s, e in elements if i == _SEGMENT), None)
    if segment is None:
        raise MediaRefused(
            gettext_noop("This Matroska/WebM file is incomplete: it has no Segment.")
        )
    scale, duration = 1_000_000, None
    for element_id, start, end in _elements(fp, segment[0], segment[1], budget):
        if element_id == _INFO:
            for child, child_start, child_end in _elements(fp, start, end, budget):
                if child == _TIMECODE_SCALE:
                    scale = _uint(fp, child_start, child_end) or scale
                elif child == _DURATION:
                    duration = _float(fp, child_start, child_end)
        elif element_id == _TRACKS:
            container.tracks.extend(_matroska_tracks(fp, start, end, budget))
        elif element_id == _CLUSTER:
            break
    if duration is not None:
        container.duration_seconds = finite(duration * scale / 1e9)
    return container


def _matroska_tracks(fp: IO[bytes], start: int, end: int, budget: _Budget) -> Iterator[Track]:
    for element_id, entry_start, entry_end in _elements(fp, start, end, budget):
        if element_id != _TRACK_ENTRY:
            continue
        track = Track(kind="other")
        for child, child_start, child_end in _elements(fp, entry_start, entry_end, budget):
            if child == _TRACK_TYPE:
                track.kind = {1: "video", 2: "audio"}.get(
                    _uint(fp, child_start, child_end) or 0, "other"
                )
            elif child == _CODEC_ID:
                track.codec = _string(fp, child_start, child_end)
            elif child in (_VIDEO, _AUDIO):
                for leaf, leaf_start, leaf_end in _elements(fp, child_start, child_end, budget):
                    if leaf == _PIXEL_WIDTH:
                        track.width = positive_int(_uint(fp, leaf_start, leaf_end))
                    elif leaf == _PIXEL_HEIGHT:
                        track.height = positive_int(_uint(fp, leaf_start, leaf_end))
                    elif leaf == _SAMPLING_FREQUENCY:
                        track.sample_rate = positive_int(_float(fp, leaf_start, leaf_end))
                    elif leaf == _CHANNELS:
                        track.channels = positive_int(_uint(fp, leaf_start, leaf_end))
        yield track


# --- Ogg Theora --------------------------------------------------------------


def theora_size(head: bytes) -> tuple[int | None, int | None]:
    """Picture size from a Theora identification header found in the first Ogg page."""
    at = head.find(b"\x80theora")
    if at < 0 or len(head) < at + 20:
        return None, None
    width = int.from_bytes(head[at + 14 : at + 17], "big")
    height = int.from_bytes(head[at + 17 : at + 20], "big")
    return positive_int(width), positive_int(height)
