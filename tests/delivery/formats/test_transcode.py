"""Real outputs of every preset from a short generated FLAC: format, length, tags, cover."""

from __future__ import annotations

import os
from pathlib import Path

import mutagen
import pytest

from catalog.inspection import audio
from delivery.formats.presets import PRESETS, is_lossless
from delivery.formats.transcode import Bounds, Cover, TranscodeFailed, transcode, write_tags
from tests.delivery.formats.conftest import FFMPEG, TAGS, cover_jpeg, make_flac, needs_ffmpeg

pytestmark = needs_ffmpeg

READER_MIME = {
    "flac": "audio/flac",
    "alac": "audio/mp4",
    "mp3-320": "audio/mpeg",
    "mp3-v0": "audio/mpeg",
    "aac-256": "audio/mp4",
    "vorbis-q6": "audio/ogg",
    "opus-160": "audio/ogg",
}
CODEC = {
    "flac": "flac",
    "alac": "alac",
    "mp3-320": "mp3",
    "mp3-v0": "mp3",
    "aac-256": "mp4a.40.2",
    "vorbis-q6": "vorbis",
    "opus-160": "opus",
}


def _made(tmp_path: Path, key: str, seconds: float = 2.5) -> tuple[Path, audio.AudioFacts]:
    source = tmp_path / "source.flac"
    source.write_bytes(make_flac(tmp_path, seconds=seconds))
    facts = audio.read(str(source), "audio/flac")
    preset = PRESETS[key]
    output = tmp_path / f"out.{preset.extension}"
    progress: list[int] = []
    transcode(
        ffmpeg=FFMPEG or "ffmpeg",
        source=str(source),
        output=str(output),
        preset=preset,
        duration=facts.duration_seconds,
        on_progress=progress.append,
    )
    cover = Cover(data=cover_jpeg(), mime="image/jpeg", width=300, height=300)
    write_tags(str(output), preset=preset, tags=dict(facts.tags), cover=cover)
    return output, audio.read(str(output), READER_MIME[key])


@pytest.mark.parametrize("key", list(PRESETS))
def test_each_preset_makes_its_format_of_the_same_length_with_tags_and_cover(tmp_path, key):
    _output, facts = _made(tmp_path, key)
    assert facts.codec == CODEC[key]
    assert facts.duration_seconds == pytest.approx(2.5, abs=0.1)
    for name in ("title", "artist", "album", "album_artist", "genre", "year", "track_number"):
        assert facts.tags.get(name) == TAGS[name], name
    assert facts.cover is not None
    assert (facts.cover.width, facts.cover.height) == (300, 300)


def test_mp3_320_is_constant_bitrate_and_v0_is_variable(tmp_path):
    from mutagen.mp3 import MP3, BitrateMode

    cbr, _facts = _made(tmp_path, "mp3-320")
    assert MP3(cbr).info.bitrate == 320_000
    assert MP3(cbr).info.bitrate_mode in (BitrateMode.CBR, BitrateMode.UNKNOWN)
    vbr_dir = tmp_path / "v0"
    vbr_dir.mkdir()
    vbr, _facts = _made(vbr_dir, "mp3-v0")
    assert MP3(vbr).info.bitrate_mode == BitrateMode.VBR


def test_mp3_carries_the_gapless_header(tmp_path):
    import struct

    output, _facts = _made(tmp_path, "mp3-v0")
    # The LAME extension of the Xing frame holds the encoder delay and the
    # padding: what a gapless player trims, down to the exact sample count.
    data = output.read_bytes()
    xing = data.find(b"Xing")
    assert xing > 0
    frames = struct.unpack(">I", data[xing + 8 : xing + 12])[0]
    packed = data[xing + 141 : xing + 144]
    delay, padding = (packed[0] << 4) | (packed[1] >> 4), ((packed[1] & 15) << 8) | packed[2]
    assert delay > 0
    assert frames * 1152 - delay - padding == round(2.5 * 44100)


def test_opus_is_48_khz_at_about_160_kbits(tmp_path):
    output, _facts = _made(tmp_path, "opus-160", seconds=4)
    parsed = mutagen.File(output)
    assert type(parsed).__name__ == "OggOpus"
    kbits = os.path.getsize(output) * 8 / 4 / 1000
    assert 80 < kbits < 240


def test_a_corrupt_source_fails_and_leaves_no_output(tmp_path):
    source = tmp_path / "broken.flac"
    source.write_bytes(b"fLaC" + os.urandom(5000))
    output = tmp_path / "out.mp3"
    with pytest.raises(TranscodeFailed) as failed:
        transcode(
            ffmpeg=FFMPEG or "ffmpeg",
            source=str(source),
            output=str(output),
            preset=PRESETS["mp3-v0"],
            duration=10,
        )
    assert "could not be converted" in failed.value.reason
    assert not output.exists()


def test_a_missing_ffmpeg_says_so(tmp_path):
    source = tmp_path / "s.flac"
    source.write_bytes(make_flac(tmp_path))
    with pytest.raises(TranscodeFailed) as failed:
        transcode(
            ffmpeg=str(tmp_path / "no-such-ffmpeg"),
            source=str(source),
            output=str(tmp_path / "o.mp3"),
            preset=PRESETS["mp3-v0"],
            duration=2.5,
        )
    assert "not installed" in failed.value.reason


def test_ffmpeg_past_its_time_is_stopped_and_leaves_no_output(tmp_path):
    source = tmp_path / "long.flac"
    source.write_bytes(make_flac(tmp_path, seconds=600, name="long.flac"))
    output = tmp_path / "o.flac"
    with pytest.raises(TranscodeFailed) as failed:
        transcode(
            ffmpeg=FFMPEG or "ffmpeg",
            source=str(source),
            output=str(output),
            preset=PRESETS["flac"],
            duration=600,
            bounds=Bounds(seconds=0.05),
        )
    assert "too long" in failed.value.reason
    assert not output.exists()


def test_ffmpeg_past_its_memory_is_stopped(tmp_path):
    source = tmp_path / "s.flac"
    source.write_bytes(make_flac(tmp_path))
    with pytest.raises(TranscodeFailed):
        transcode(
            ffmpeg=FFMPEG or "ffmpeg",
            source=str(source),
            output=str(tmp_path / "o.mp3"),
            preset=PRESETS["mp3-v0"],
            duration=2.5,
            bounds=Bounds(memory_bytes=8 * 1024 * 1024),
        )


@pytest.mark.parametrize(
    ("mime", "codec", "expected"),
    [
        ("audio/flac", "flac", True),
        ("audio/wav", None, True),
        ("audio/aiff", None, True),
        ("audio/mp4", "alac", True),
        ("audio/mp4", "mp4a.40.2", False),
        ("audio/mpeg", "mp3", False),
        ("application/pdf", None, False),
    ],
)
def test_only_lossless_files_are_offered_in_other_formats(mime, codec, expected):
    assert is_lossless(mime=mime, codec=codec) is expected
