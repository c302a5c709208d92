import io
import zipfile

import pytest

from catalog.media import sha256_and_size, sniff


def _epub() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), "application/epub+zip")
        archive.writestr("META-INF/container.xml", "<container/>")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("head", "kind", "mime"),
    [
        (b"%PDF-1.7\n", "ebook", "application/pdf"),
        (b"ID3\x04\x00" + b"\x00" * 20, "audio", "audio/mpeg"),
        (b"fLaC\x00\x00", "audio", "audio/flac"),
        (b"OggS" + b"\x00" * 24 + b"\x01vorbis", "audio", "audio/ogg"),
        (b"\x00\x00\x00\x18ftypisom", "video", "video/mp4"),
        (b"\x00\x00\x00\x18ftypM4A ", "audio", "audio/mp4"),
        (b"\xff\xd8\xff\xe0", "image", "image/jpeg"),
        (b"\x89PNG\r\n\x1a\n", "image", "image/png"),
        (b"hello, world", "other", "application/octet-stream"),
        (b"", "other", "application/octet-stream"),
    ],
)
def test_files_are_identified_by_their_first_bytes(head, kind, mime):
    found = sniff(io.BytesIO(head))
    assert (found.kind, found.mime) == (kind, mime)


def test_an_epub_is_told_apart_from_a_zip():
    assert sniff(io.BytesIO(_epub())).mime == "application/epub+zip"
    plain = io.BytesIO()
    with zipfile.ZipFile(plain, "w") as archive:
        archive.writestr("a.txt", "x")
    assert sniff(plain).mime == "application/zip"


def test_the_extension_never_decides():
    pretend = io.BytesIO(b"MZ\x90\x00 this is an exe")
    pretend.name = "song.mp3"
    assert sniff(pretend).kind == "other"


def test_hash_and_size_are_streamed():
    data = b"x" * (3 * 1024 * 1024 + 7)
    digest, size = sha256_and_size(io.BytesIO(data))
    import hashlib

    assert (digest, size) == (hashlib.sha256(data).hexdigest(), len(data))
