"""Content sniffing: what a file is, decided from its first bytes.

Pure functions, no ORM: bytes in, a typed answer out. The extension and the
browser's Content-Type are never trusted.
"""

from __future__ import annotations

import hashlib
import unicodedata
import zipfile
from dataclasses import dataclass
from typing import BinaryIO

CHUNK = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Sniffed:
    kind: str  # ebook, audio, video, image, archive, other
    mime: str


def _is_epub(head: bytes, stream: BinaryIO) -> bool:
    if not head.startswith(b"PK\x03\x04"):
        return False
    # The OCF container puts an uncompressed "mimetype" entry first.
    if head[30:38] == b"mimetype" and b"application/epub+zip" in head[38:100]:
        return True
    try:
        stream.seek(0)
        with zipfile.ZipFile(stream) as archive, archive.open("mimetype") as entry:
            return entry.read(64).strip() == b"application/epub+zip"
    except (zipfile.BadZipFile, KeyError, OSError, EOFError):
        return False


def sniff(stream: BinaryIO) -> Sniffed:
    """Identify a file by its magic bytes. The stream is left at position 0."""
    stream.seek(0)
    head = stream.read(4096)
    try:
        if head.startswith(b"%PDF-"):
            return Sniffed("ebook", "application/pdf")
        if _is_epub(head, stream):
            return Sniffed("ebook", "application/epub+zip")
        if head.startswith(b"ID3") or (
            len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0
        ):
            return Sniffed("audio", "audio/mpeg")
        if head.startswith(b"fLaC"):
            return Sniffed("audio", "audio/flac")
        if head.startswith(b"OggS"):
            if b"OpusHead" in head[:100]:
                return Sniffed("audio", "audio/ogg; codecs=opus")
            if b"\x01vorbis" in head[:100]:
                return Sniffed("audio", "audio/ogg")
            return Sniffed("video", "video/ogg")
        if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
            return Sniffed("audio", "audio/wav")
        if head[4:8] == b"ftyp":
            brand = head[8:12]
            if brand in (b"M4A ", b"M4B ", b"M4P "):
                return Sniffed("audio", "audio/mp4")
            if brand == b"qt  ":
                return Sniffed("video", "video/quicktime")
            return Sniffed("video", "video/mp4")
        if head.startswith(b"\x1a\x45\xdf\xa3"):
            if b"webm" in head[:64]:
                return Sniffed("video", "video/webm")
            return Sniffed("video", "video/x-matroska")
        if head.startswith(b"\xff\xd8\xff"):
            return Sniffed("image", "image/jpeg")
        if head.startswith(b"\x89PNG\r\n\x1a\n"):
            return Sniffed("image", "image/png")
        if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
            return Sniffed("image", "image/webp")
        if head.startswith(b"PK\x03\x04"):
            return Sniffed("archive", "application/zip")
        return Sniffed("other", "application/octet-stream")
    finally:
        stream.seek(0)


def sha256_and_size(stream: BinaryIO) -> tuple[str, int]:
    """Hash a stream in chunks, never holding the whole file. Leaves it at position 0."""
    stream.seek(0)
    digest = hashlib.sha256()
    size = 0
    while chunk := stream.read(CHUNK):
        digest.update(chunk)
        size += len(chunk)
    stream.seek(0)
    return digest.hexdigest(), size


def safe_filename(name: str) -> str:
    """The name a browser saves: no path, no control characters, never empty."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip(" .")
    return name[:200] or "download"
