"""Magic bytes first: what `catalog.media.sniff` recognises, and what it must not mistake."""

from __future__ import annotations

import io
import struct
import zipfile

import pytest

from catalog.media import sniff
from tests.factories import demo_media


def _sniff(data: bytes) -> tuple[str, str]:
    found = sniff(io.BytesIO(data))
    return found.kind, found.mime


def _mpeg_frames(count: int = 3) -> bytes:
    # MPEG-1 layer III, 128 kbit/s, 44.1 kHz, no padding: 417-byte frames.
    frame = b"\xff\xfb\x90\x00" + b"\x00" * 413
    return frame * count


@pytest.mark.parametrize(
    ("data", "kind", "mime"),
    [
        (b"FORM\x00\x00\x00\x10AIFFCOMM", "audio", "audio/aiff"),
        (b"MThd\x00\x00\x00\x06", "audio", "audio/midi"),
        (b"wvpk" + b"\x00" * 28, "audio", "audio/x-wavpack"),
        (b"DSD \x1c\x00\x00\x00", "audio", "audio/x-dsf"),
        (b"\x1aE\xdf\xa3\x9fB\x82\x84webm", "video", "video/webm"),
        (b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1", "image", "image/avif"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "image", "image/heic"),
        (b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00", "video", "video/quicktime"),
        (b"8BPS\x00\x01" + b"\x00" * 20, "image", "image/vnd.adobe.photoshop"),
        (b"%!PS-Adobe-3.0 EPSF-3.0\n", "image", "application/postscript"),
        (b"\xc5\xd0\xd3\xc6" + b"\x00" * 26, "image", "application/postscript"),
        (b"II*\x00\x08\x00\x00\x00", "image", "image/tiff"),
        (b"BM" + b"\x00" * 12 + struct.pack("<I", 40), "image", "image/bmp"),
        (b"GIF89a\x01\x00\x01\x00", "image", "image/gif"),
        (b"RIFF\x00\x00\x00\x00AVI LIST", "video", "video/x-msvideo"),
        (
            b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>',
            "image",
            "image/svg+xml",
        ),
        (b"Rar!\x1a\x07\x01\x00", "archive", "application/vnd.rar"),
    ],
)
def test_more_formats_are_named_by_their_magic_bytes(data, kind, mime):
    assert _sniff(data) == (kind, mime)


def test_raw_mpeg_audio_needs_a_second_frame_where_the_first_ends():
    assert _sniff(_mpeg_frames()) == ("audio", "audio/mpeg")
    broken_chain = _mpeg_frames(1) + b"\x00" * 5000
    assert _sniff(broken_chain) == ("other", "application/octet-stream")


def test_a_sync_word_with_impossible_fields_is_not_mp3():
    # A FLIC animation from Pillow's tests starts with FF FE: bitrate index 0.
    flic = b"\xff\xfe\x00\xa3\x11\xaf\x0a\x00\x01\x10\x00\x10\xff\x00\x00\x00" + b"\x00" * 64
    assert _sniff(flic) == ("image", "image/x-flic")
    photo_cd = b"\xff" * 2048 + b"PCD_IPI"
    assert _sniff(photo_cd)[1] != "audio/mpeg"


def test_flac_behind_an_id3_tag_is_still_flac():
    tag = b"ID3\x03\x00\x00" + bytes([0, 0, 0, 10]) + b"\x00" * 10
    assert _sniff(tag + b"fLaC\x00\x00\x00\x22") == ("audio", "audio/flac")


def test_a_zip_is_an_archive_and_an_epub_an_ebook():
    assert _sniff(demo_media("ebook-field-notes.epub")) == ("ebook", "application/epub+zip")
    plain = io.BytesIO()
    with zipfile.ZipFile(plain, "w") as archive:
        archive.writestr("META-INF/container.xml", "<container/>")
    assert _sniff(plain.getvalue()) == ("archive", "application/zip")


def test_the_stream_is_rewound_after_sniffing():
    stream = io.BytesIO(demo_media("album-01-departure.mp3"))
    stream.seek(100)
    sniff(stream)
    assert stream.tell() == 0
