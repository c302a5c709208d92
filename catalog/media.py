"""Content sniffing: what a file is, decided from its first bytes.

Pure functions, no ORM: bytes in, a typed answer out. The extension and the
browser's Content-Type are never trusted.

`sniff` only looks at magic numbers; it recognises more formats than the shop
accepts so that a refusal can name what the file really is ("a Photoshop
document", not "unknown data"). Whether a format is accepted, and whether the
parser agrees with the magic, is decided by `catalog.inspection`.
"""

from __future__ import annotations

import hashlib
import struct
import unicodedata
import zipfile
from dataclasses import dataclass
from typing import BinaryIO

CHUNK = 1024 * 1024
HEAD_BYTES = 4096


@dataclass(frozen=True, slots=True)
class Sniffed:
    kind: str  # ebook, audio, video, image, archive, other
    mime: str


OTHER = Sniffed("other", "application/octet-stream")

# What a person calls each format, for messages.
FORMAT_NAMES: dict[str, str] = {
    "application/pdf": "PDF document",
    "application/epub+zip": "EPUB ebook",
    "audio/mpeg": "MP3 audio",
    "audio/flac": "FLAC audio",
    "audio/ogg": "Ogg audio",
    "audio/ogg; codecs=opus": "Opus audio",
    "application/ogg": "Ogg file",
    "audio/wav": "WAV audio",
    "audio/aiff": "AIFF audio",
    "audio/mp4": "MPEG-4 audio",
    "audio/aac": "AAC audio",
    "audio/ac3": "AC-3 audio",
    "audio/midi": "MIDI file",
    "audio/x-ms-wma": "Windows Media audio",
    "audio/x-ape": "Monkey's Audio",
    "audio/x-wavpack": "WavPack audio",
    "audio/x-musepack": "Musepack audio",
    "audio/x-dsf": "DSD audio (DSF)",
    "audio/x-dff": "DSD audio (DSDIFF)",
    "audio/x-tak": "TAK audio",
    "audio/x-optimfrog": "OptimFROG audio",
    "audio/x-tta": "True Audio",
    "audio/webm": "WebM audio",
    "audio/x-matroska": "Matroska audio",
    "video/mp4": "MP4 video",
    "video/x-m4v": "M4V video",
    "video/quicktime": "QuickTime video",
    "video/3gpp": "3GP video",
    "video/3gpp2": "3G2 video",
    "video/webm": "WebM video",
    "video/x-matroska": "Matroska video",
    "video/ogg": "Ogg video",
    "video/x-msvideo": "AVI video",
    "video/mpeg": "MPEG video",
    "video/x-flv": "Flash video",
    "image/jpeg": "JPEG image",
    "image/png": "PNG image",
    "image/webp": "WebP image",
    "image/gif": "GIF image",
    "image/avif": "AVIF image",
    "image/heic": "HEIC/HEIF image",
    "image/jxl": "JPEG XL image",
    "image/tiff": "TIFF image",
    "image/bmp": "BMP image",
    "image/vnd.adobe.photoshop": "Photoshop document (PSD)",
    "application/postscript": "PostScript/EPS file",
    "image/x-icon": "Windows icon (ICO/CUR)",
    "image/jp2": "JPEG 2000 image",
    "image/vnd-ms.dds": "DirectDraw Surface (DDS) texture",
    "image/qoi": "QOI image",
    "image/icns": "Apple icon (ICNS)",
    "image/x-blp": "Blizzard texture (BLP)",
    "image/x-flic": "FLIC animation",
    "image/sgi": "SGI image",
    "image/x-pcx": "PCX image",
    "image/x-portable-anymap": "Netpbm image (PBM/PGM/PPM)",
    "image/x-xpixmap": "XPM image",
    "image/x-xbitmap": "XBM image",
    "image/fits": "FITS image",
    "image/x-msp": "Microsoft Paint (MSP) image",
    "image/x-sun-raster": "Sun raster image",
    "image/svg+xml": "SVG image",
    "image/x-tga": "Targa (TGA) image",
    "image/wmf": "Windows metafile (WMF/EMF)",
    "image/x-photo-cd": "Kodak Photo CD image",
    "image/vnd.fpx": "FlashPix image",
    "application/zip": "ZIP archive",
    "application/vnd.rar": "RAR archive",
    "application/x-7z-compressed": "7-Zip archive",
    "application/gzip": "gzip archive",
    "application/x-bzip2": "bzip2 archive",
    "application/x-xz": "xz archive",
    "application/x-tar": "tar archive",
    "application/octet-stream": "file of an unrecognised type",
}


def format_name(mime: str) -> str:
    return FORMAT_NAMES.get(mime, mime)


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
    except (zipfile.BadZipFile, zipfile.LargeZipFile, KeyError, OSError, EOFError, ValueError):
        return False


def _after_id3(head: bytes, stream: BinaryIO) -> bytes:
    """The first bytes after an ID3v2 tag: FLAC and AAC files sometimes carry one too."""
    if len(head) < 10:
        return b""
    size = 0
    for byte in head[6:10]:
        size = (size << 7) | (byte & 0x7F)
    end = 10 + size + (10 if head[5] & 0x10 else 0)
    stream.seek(end)
    return stream.read(4)


_MPEG_BITRATES = {
    (1, 1): (0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (1, 2): (0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (1, 3): (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (2, 1): (0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    (2, 2): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
    (2, 3): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_MPEG_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def _is_mpeg_audio(head: bytes) -> bool:
    """An MPEG audio frame header with valid fields, followed by another frame.

    The 11-bit sync word alone matches too much (icons, fuzzed images), so the
    header fields are checked and the next frame must start where this one ends.
    """
    if len(head) < 4 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return False
    version_bits, layer_bits = (head[1] >> 3) & 0x3, (head[1] >> 1) & 0x3
    bitrate_index, rate_index, padding = head[2] >> 4, (head[2] >> 2) & 0x3, (head[2] >> 1) & 1
    if version_bits == 1 or layer_bits == 0 or bitrate_index in (0, 15) or rate_index == 3:
        return False
    layer = 4 - layer_bits
    bitrate = _MPEG_BITRATES[(1 if version_bits == 3 else 2, layer)][bitrate_index] * 1000
    rate = _MPEG_RATES[version_bits][rate_index]
    if layer == 1:
        length = (12 * bitrate // rate + padding) * 4
    elif layer == 3 and version_bits != 3:
        length = 72 * bitrate // rate + padding
    else:
        length = 144 * bitrate // rate + padding
    if length + 2 > len(head):
        return len(head) < 4096  # a tiny file: one frame is all there is
    return head[length] == 0xFF and head[length + 1] & 0xE0 == 0xE0


def _is_adts(head: bytes) -> bool:
    """An AAC ADTS header (sync 0xFFF, layer 00) followed by the next one."""
    if len(head) < 7 or head[0] != 0xFF or head[1] & 0xF6 != 0xF0 or (head[2] >> 2) & 0xF > 12:
        return False
    length = ((head[3] & 0x03) << 11) | (head[4] << 3) | (head[5] >> 5)
    if length < 7:
        return False
    if length + 2 > len(head):
        return len(head) < 4096
    return head[length] == 0xFF and head[length + 1] & 0xF6 == 0xF0


def _ftyp(head: bytes) -> Sniffed:
    """ISO base media files (MP4, M4A, MOV, 3GP, AVIF, HEIC) by their brands."""
    (box_size,) = struct.unpack(">I", head[:4])
    brands = {head[8:12]}
    box_size = min(max(box_size, 16), len(head), 256)
    brands.update(head[i : i + 4] for i in range(16, box_size - 3, 4))
    major = head[8:12]
    if brands & {b"avif", b"avis"}:
        return Sniffed("image", "image/avif")
    if brands & {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}:
        return Sniffed("image", "image/heic")
    if major in (b"M4A ", b"M4B ", b"M4P "):
        return Sniffed("audio", "audio/mp4")
    if major == b"qt  ":
        return Sniffed("video", "video/quicktime")
    if major.startswith(b"3gp"):
        return Sniffed("video", "video/3gpp")
    if major.startswith(b"3g2"):
        return Sniffed("video", "video/3gpp2")
    if major in (b"M4V ", b"M4VH", b"M4VP"):
        return Sniffed("video", "video/x-m4v")
    return Sniffed("video", "video/mp4")


def _ogg(head: bytes) -> Sniffed:
    first_page = head[:300]
    if b"OpusHead" in first_page:
        return Sniffed("audio", "audio/ogg; codecs=opus")
    if b"\x01vorbis" in first_page or b"Speex   " in first_page or b"\x7fFLAC" in first_page:
        return Sniffed("audio", "audio/ogg")
    if b"\x80theora" in first_page:
        return Sniffed("video", "video/ogg")
    # An Ogg stream of some other codec: the parser decides.
    return Sniffed("audio", "application/ogg")


# Fixed signatures at offset 0, tried in order after the special cases in `sniff`.
_PREFIXES: tuple[tuple[bytes, Sniffed], ...] = (
    (b"fLaC", Sniffed("audio", "audio/flac")),
    (b"MAC ", Sniffed("audio", "audio/x-ape")),
    (b"wvpk", Sniffed("audio", "audio/x-wavpack")),
    (b"MPCK", Sniffed("audio", "audio/x-musepack")),
    (b"MP+", Sniffed("audio", "audio/x-musepack")),
    (b"DSD ", Sniffed("audio", "audio/x-dsf")),
    (b"FRM8", Sniffed("audio", "audio/x-dff")),
    (b"tBaK", Sniffed("audio", "audio/x-tak")),
    (b"OFR ", Sniffed("audio", "audio/x-optimfrog")),
    (b"TTA1", Sniffed("audio", "audio/x-tta")),
    (b"ADIF", Sniffed("audio", "audio/aac")),
    (b"MThd", Sniffed("audio", "audio/midi")),
    (b"\x0b\x77", Sniffed("audio", "audio/ac3")),
    (
        b"\x30\x26\xb2\x75\x8e\x66\xcf\x11\xa6\xd9\x00\xaa\x00\x62\xce\x6c",
        Sniffed("audio", "audio/x-ms-wma"),
    ),
    (b"\xff\xd8\xff", Sniffed("image", "image/jpeg")),
    (b"\x89PNG\r\n\x1a\n", Sniffed("image", "image/png")),
    (b"GIF87a", Sniffed("image", "image/gif")),
    (b"GIF89a", Sniffed("image", "image/gif")),
    (b"8BPS", Sniffed("image", "image/vnd.adobe.photoshop")),
    (b"%!PS", Sniffed("image", "application/postscript")),
    (b"\xc5\xd0\xd3\xc6", Sniffed("image", "application/postscript")),
    (b"II*\x00", Sniffed("image", "image/tiff")),
    (b"MM\x00*", Sniffed("image", "image/tiff")),
    (b"II+\x00", Sniffed("image", "image/tiff")),
    (b"MM\x00+", Sniffed("image", "image/tiff")),
    (b"\x00\x00\x00\x0cjP  \r\n\x87\n", Sniffed("image", "image/jp2")),
    (b"\xff\x4f\xff\x51", Sniffed("image", "image/jp2")),
    (b"\x00\x00\x00\x0cJXL \r\n\x87\n", Sniffed("image", "image/jxl")),
    (b"\xff\x0a", Sniffed("image", "image/jxl")),
    (b"DDS ", Sniffed("image", "image/vnd-ms.dds")),
    (b"qoif", Sniffed("image", "image/qoi")),
    (b"icns", Sniffed("image", "image/icns")),
    (b"BLP1", Sniffed("image", "image/x-blp")),
    (b"BLP2", Sniffed("image", "image/x-blp")),
    (b"\x01\xda", Sniffed("image", "image/sgi")),
    (b"/* XPM */", Sniffed("image", "image/x-xpixmap")),
    (b"SIMPLE  =", Sniffed("image", "image/fits")),
    (b"DanM", Sniffed("image", "image/x-msp")),
    (b"LinS", Sniffed("image", "image/x-msp")),
    (b"\x59\xa6\x6a\x95", Sniffed("image", "image/x-sun-raster")),
    (b"\x00\x00\x01\xba", Sniffed("video", "video/mpeg")),
    (b"\x00\x00\x01\xb3", Sniffed("video", "video/mpeg")),
    (b"FLV\x01", Sniffed("video", "video/x-flv")),
    (b"Rar!\x1a\x07", Sniffed("archive", "application/vnd.rar")),
    (b"7z\xbc\xaf\x27\x1c", Sniffed("archive", "application/x-7z-compressed")),
    (b"\x1f\x8b", Sniffed("archive", "application/gzip")),
    (b"BZh", Sniffed("archive", "application/x-bzip2")),
    (b"\xfd7zXZ\x00", Sniffed("archive", "application/x-xz")),
)


def _weak_image(head: bytes) -> Sniffed | None:
    """Formats whose magic is only two bytes: confirmed by a plausible header."""
    if head[:2] == b"BM" and len(head) >= 18:
        (dib_size,) = struct.unpack("<I", head[14:18])
        if dib_size in (12, 16, 40, 52, 56, 64, 108, 124):
            return Sniffed("image", "image/bmp")
    if head[:4] in (b"\x00\x00\x01\x00", b"\x00\x00\x02\x00") and len(head) >= 6:
        (count,) = struct.unpack("<H", head[4:6])
        if 0 < count <= 256:
            return Sniffed("image", "image/x-icon")
    if (
        len(head) >= 16
        and head[4:6] in (b"\x11\xaf", b"\x12\xaf")
        and head[14:16]
        in (
            b"\x00\x00",
            b"\x03\x00",
        )
    ):
        return Sniffed("image", "image/x-flic")
    if len(head) >= 4 and head[0] == 0x0A and head[1] in (0, 2, 3, 4, 5) and head[2] == 1:
        return Sniffed("image", "image/x-pcx")
    if len(head) >= 3 and head[0:1] == b"P" and head[1:2] in b"1234567fF" and head[2:3].isspace():
        return Sniffed("image", "image/x-portable-anymap")
    if head.startswith(b"#define ") and b"_width " in head.split(b"\n", 1)[0]:
        return Sniffed("image", "image/x-xbitmap")
    text = head[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith(b"<svg") or (text.startswith(b"<?xml") and b"<svg" in text):
        return Sniffed("image", "image/svg+xml")
    return None


def sniff(stream: BinaryIO) -> Sniffed:
    """Identify a file by its magic bytes. The stream is left at position 0."""
    stream.seek(0)
    head = stream.read(HEAD_BYTES)
    try:
        return _sniff(head, stream)
    finally:
        stream.seek(0)


def _sniff(head: bytes, stream: BinaryIO) -> Sniffed:
    if head.startswith(b"%PDF-"):
        return Sniffed("ebook", "application/pdf")
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        if _is_epub(head, stream):
            return Sniffed("ebook", "application/epub+zip")
        return Sniffed("archive", "application/zip")
    if head.startswith(b"ID3"):
        after = _after_id3(head, stream)
        if after.startswith(b"fLaC"):
            return Sniffed("audio", "audio/flac")
        if len(after) > 1 and after[0] == 0xFF and after[1] & 0xF6 == 0xF0:
            return Sniffed("audio", "audio/aac")  # mutagen confirms; only 4 bytes are read here
        return Sniffed("audio", "audio/mpeg")
    if _is_adts(head):
        # ADTS (AAC) shares MPEG audio's sync word but has layer bits 00.
        return Sniffed("audio", "audio/aac")
    if _is_mpeg_audio(head):
        return Sniffed("audio", "audio/mpeg")
    if head.startswith(b"OggS"):
        return _ogg(head)
    if head[:4] == b"RIFF":
        riff_type = head[8:12]
        if riff_type == b"WAVE":
            return Sniffed("audio", "audio/wav")
        if riff_type == b"WEBP":
            return Sniffed("image", "image/webp")
        if riff_type == b"AVI ":
            return Sniffed("video", "video/x-msvideo")
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return Sniffed("audio", "audio/aiff")
    if head[4:8] == b"ftyp" and len(head) >= 12:
        return _ftyp(head)
    if head[4:8] in (b"moov", b"mdat", b"wide"):
        return Sniffed("video", "video/quicktime")
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        if b"webm" in head[:64]:
            return Sniffed("video", "video/webm")
        return Sniffed("video", "video/x-matroska")
    for prefix, found in _PREFIXES:
        if head.startswith(prefix):
            return found
    if len(head) > 262 and head[257:262] == b"ustar":
        return Sniffed("archive", "application/x-tar")
    weak = _weak_image(head)
    if weak is not None:
        return weak
    if b"%PDF-" in head[:1024]:
        # Readers accept a PDF header anywhere in the first kilobyte.
        return Sniffed("ebook", "application/pdf")
    return OTHER


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
