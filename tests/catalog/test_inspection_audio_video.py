"""Audio and video: mutagen for streams and tags, hand-read boxes and EBML for pictures."""

from __future__ import annotations

import io
import shutil
import struct
import subprocess
import wave

import pytest
from PIL import Image

from catalog.inspection import Limits, MediaRefused, inspect_path
from catalog.inspection.probe import inspect_file
from tests.factories import demo_media, wav_bytes


def _write(tmp_path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def test_an_mp3_gives_its_length_stream_tags_and_cover_art(tmp_path):
    found = inspect_path(
        _write(tmp_path, "01.mp3", demo_media("album-01-departure.mp3")), claimed_name="01.mp3"
    )
    assert (found.kind, found.mime, found.codec) == ("audio", "audio/mpeg", "mp3")
    assert found.duration_seconds == pytest.approx(11.3, abs=0.2)
    assert (found.bitrate, found.sample_rate, found.channels) == (96000, 44100, 2)
    assert found.tags == {
        "title": "Departure",
        "artist": "Les Ondes Douces",
        "album": "Night Trains",
        "album_artist": "Les Ondes Douces",
        "genre": "Ambient",
        "track_number": 1,
        "track_total": 4,
        "year": 2026,
    }
    assert found.title == "Departure"
    assert found.cover is not None and found.cover.mime == "image/jpeg"
    picture = Image.open(io.BytesIO(found.cover.data))
    assert picture.size == (found.cover.width, found.cover.height)
    assert found.details()["cover"]["size_bytes"] == len(found.cover.data)


def test_ogg_vorbis_tags_are_read_like_id3_ones(tmp_path):
    found = inspect_path(_write(tmp_path, "s.ogg", demo_media("single-morning-light.ogg")))
    assert (found.mime, found.codec) == ("audio/ogg", "vorbis")
    assert found.tags["title"] == "Morning Light" and found.tags["track_number"] == 1
    assert found.duration_seconds == pytest.approx(10.6, abs=0.2)


def test_a_wav_is_measured(tmp_path):
    found = inspect_path(_write(tmp_path, "take.wav", wav_bytes(16_044)))
    assert (found.kind, found.mime, found.codec, found.sample_rate) == (
        "audio",
        "audio/wav",
        "pcm",
        8000,
    )
    assert found.duration_seconds == pytest.approx(1.0)


def test_audio_without_a_single_sample_is_refused(tmp_path):
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(8000)
    with pytest.raises(MediaRefused, match="holds no sound"):
        inspect_path(_write(tmp_path, "silence.wav", out.getvalue()))


def test_an_mp3_cut_after_its_tag_is_refused_as_damaged(tmp_path):
    data = demo_media("album-02-tunnel.mp3")
    tag_end = 10 + sum((byte & 0x7F) << (7 * (3 - i)) for i, byte in enumerate(data[6:10]))
    with pytest.raises(MediaRefused, match="MP3 audio is damaged"):
        inspect_path(_write(tmp_path, "cut.mp3", data[:tag_end]))


def test_a_name_that_contradicts_the_content_is_refused(tmp_path):
    with pytest.raises(MediaRefused) as refused:
        inspect_path(
            _write(tmp_path, "song.mp3", demo_media("ebook-recipes.pdf")), claimed_name="song.mp3"
        )
    assert refused.value.reason == (
        "The name “song.mp3” says MP3, but the content is a PDF document. "
        "Rename the file or upload the right one."
    )


@pytest.mark.parametrize(
    "name", ["song.mp3", "book.pdf", "book.epub", "track.flac", "a.png", "a.jpg", "v.mp4"]
)
def test_unrecognised_content_under_a_name_with_a_signature_is_refused(tmp_path, name):
    # Issue 14: a buyer must never receive a "book.pdf" that no reader opens.
    with pytest.raises(MediaRefused) as refused:
        inspect_file(_write(tmp_path, name, bytes(range(256)) * 8), claimed_name=name)
    assert f"The name “{name}” says" in refused.value.reason
    assert "its type is not recognised" in refused.value.reason


def test_unrecognised_content_under_a_name_that_claims_nothing_is_kept(tmp_path):
    found = inspect_file(
        _write(tmp_path, "notes.txt", bytes(range(256)) * 8), claimed_name="notes.txt"
    )
    assert (found.kind, found.mime) == ("other", "application/octet-stream")


def test_an_mp4_video_gives_its_picture_size_from_the_track_header(tmp_path):
    found = inspect_path(_write(tmp_path, "v.mp4", demo_media("video-harbour.mp4")))
    assert (found.kind, found.mime, found.width, found.height) == ("video", "video/mp4", 320, 180)
    assert (found.codec, found.audio_codec) == ("avc1", "mp4a.40.2")
    assert found.duration_seconds == pytest.approx(5.0, abs=0.1)
    assert found.tags == {"title": "Harbour at Dusk"}


def test_an_mp4_without_its_index_is_refused(tmp_path):
    broken = (
        b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"
        + b"\x00\x00\x01\x00mdat"
        + b"\x00" * 248
    )
    with pytest.raises(MediaRefused, match="MP4 video"):
        inspect_file(_write(tmp_path, "v.mp4", broken))


def _ebml(element_id: bytes, payload: bytes) -> bytes:
    return element_id + b"\x01" + len(payload).to_bytes(7, "big") + payload


def _matroska(doc_type: bytes, *, video: bool) -> bytes:
    header = _ebml(b"\x1a\x45\xdf\xa3", _ebml(b"\x42\x82", doc_type))
    info = _ebml(
        b"\x15\x49\xa9\x66",
        _ebml(b"\x2a\xd7\xb1", (1_000_000).to_bytes(3, "big"))
        + _ebml(b"\x44\x89", struct.pack(">d", 4500.0)),
    )
    sound = _ebml(
        b"\xae",
        _ebml(b"\x83", b"\x02")
        + _ebml(b"\x86", b"A_OPUS")
        + _ebml(b"\xe1", _ebml(b"\xb5", struct.pack(">f", 48000.0)) + _ebml(b"\x9f", b"\x02")),
    )
    picture = _ebml(
        b"\xae",
        _ebml(b"\x83", b"\x01")
        + _ebml(b"\x86", b"V_VP9")
        + _ebml(
            b"\xe0",
            _ebml(b"\xb0", (640).to_bytes(2, "big")) + _ebml(b"\xba", (360).to_bytes(2, "big")),
        ),
    )
    tracks = _ebml(b"\x16\x54\xae\x6b", (picture if video else b"") + sound)
    cluster = _ebml(b"\x1f\x43\xb6\x75", b"\x00" * 32)
    return header + _ebml(b"\x18\x53\x80\x67", info + tracks + cluster)


def test_webm_gives_duration_picture_size_and_codecs_from_its_ebml(tmp_path):
    found = inspect_path(_write(tmp_path, "clip.webm", _matroska(b"webm", video=True)))
    assert (found.kind, found.mime, found.width, found.height) == ("video", "video/webm", 640, 360)
    assert (found.codec, found.audio_codec, found.duration_seconds) == ("V_VP9", "A_OPUS", 4.5)


def test_matroska_with_only_sound_is_audio(tmp_path):
    found = inspect_path(_write(tmp_path, "song.mka", _matroska(b"matroska", video=False)))
    assert (found.kind, found.mime, found.sample_rate, found.channels) == (
        "audio",
        "audio/x-matroska",
        48000,
        2,
    )


def test_ebml_that_is_not_matroska_is_refused(tmp_path):
    with pytest.raises(MediaRefused, match="not a Matroska or WebM"):
        inspect_path(_write(tmp_path, "x.mkv", _matroska(b"other", video=True)[:40] + b"\x00" * 40))


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed")
def test_a_webm_made_by_ffmpeg_is_read(tmp_path):
    target = tmp_path / "made.webm"
    ffmpeg = shutil.which("ffmpeg") or "ffmpeg"
    source = ["-f", "lavfi", "-i", "testsrc=size=160x90:rate=10", "-t", "1"]
    codec = ["-c:v", "libvpx-vp9", "-deadline", "realtime"]
    subprocess.run(
        [ffmpeg, "-v", "error", "-y", *source, *codec, str(target)], check=True, timeout=60
    )
    found = inspect_path(target)
    assert (found.mime, found.width, found.height) == ("video/webm", 160, 90)
    assert found.duration_seconds == pytest.approx(1.0, abs=0.1)


def test_a_file_of_gigabytes_is_read_without_holding_it(tmp_path):
    size = 3 * 1024**3  # sparse on disk: the header, then a hole
    header = (
        b"RIFF"
        + struct.pack("<I", size + 36)
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 1, 1, 8000, 16000, 2, 16)
    )
    header += b"data" + struct.pack("<I", size)
    path = tmp_path / "long.wav"
    with path.open("wb") as handle:
        handle.write(header)
        handle.truncate(len(header) + size)
    found = inspect_path(path, limits=Limits(seconds=10, memory_bytes=128 * 1024 * 1024))
    assert found.duration_seconds == pytest.approx(size / 16000, rel=1e-3)
