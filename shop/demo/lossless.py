"""The demo's lossless album, made at demo time: short FLAC tracks (WAV without ffmpeg).

Each track is a few seconds of a chord from ffmpeg's sine sources, tagged
with mutagen (title, artist, album, track number) and carrying the cover, so
a newcomer can pick FLAC, ALAC, MP3, AAC, Vorbis or Opus in the library and
see the tags and cover come along.
"""

from __future__ import annotations

import io
import math
import shutil
import struct
import subprocess
import tempfile
import wave
from pathlib import Path

from django.conf import settings

TRACKS = (
    ("Low Tide", (220.0, 277.2, 329.6)),
    ("Salt Marsh", (196.0, 246.9, 293.7)),
    ("High Water", (261.6, 329.6, 392.0)),
)
SECONDS = 6.0
ARTIST, ALBUM, YEAR = "Les Ondes Douces", "Tide Tables", "2025"


def track_filename(number: int, title: str, extension: str) -> str:
    return f"{number:02d} {title}.{extension}"


def _ffmpeg() -> str | None:
    return shutil.which(settings.FFMPEG_BINARY)


def lossless_extension() -> str:
    return "flac" if _ffmpeg() else "wav"


def _wav(frequencies: tuple[float, ...]) -> bytes:
    rate, frames = 44100, int(44100 * SECONDS)
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(2)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        samples = bytearray()
        for n in range(frames):
            fade = min(1.0, n / 4410, (frames - n) / 4410)
            value = sum(math.sin(2 * math.pi * f * n / rate) for f in frequencies)
            sample = int(9000 * fade * value / len(frequencies))
            samples += struct.pack("<hh", sample, sample)
        writer.writeframes(bytes(samples))
    return out.getvalue()


def make_track(number: int, *, cover_jpeg: bytes) -> tuple[str, bytes]:
    """(file name, bytes) of track ``number`` (1-based) of the album."""
    title, chord = TRACKS[number - 1]
    ffmpeg = _ffmpeg()
    source = _wav(chord)
    if ffmpeg is None:
        return track_filename(number, title, "wav"), source
    with tempfile.TemporaryDirectory(prefix="echoppe-demo-") as workdir:
        wav_path, flac_path = Path(workdir) / "in.wav", Path(workdir) / "out.flac"
        wav_path.write_bytes(source)
        subprocess.run(  # noqa: S603 - fixed arguments
            [ffmpeg, "-nostdin", "-loglevel", "error", "-y", "-i", str(wav_path), str(flac_path)],
            check=True,
            timeout=60,
        )
        _tag(flac_path, number=number, title=title, cover_jpeg=cover_jpeg)
        return track_filename(number, title, "flac"), flac_path.read_bytes()


def _tag(path: Path, *, number: int, title: str, cover_jpeg: bytes) -> None:
    from mutagen.flac import FLAC, Picture

    flac = FLAC(path)
    for key, value in (
        ("TITLE", title),
        ("ARTIST", ARTIST),
        ("ALBUMARTIST", ARTIST),
        ("ALBUM", ALBUM),
        ("DATE", YEAR),
        ("GENRE", "Ambient"),
        ("TRACKNUMBER", str(number)),
        ("TRACKTOTAL", str(len(TRACKS))),
    ):
        flac[key] = value
    picture = Picture()
    picture.type, picture.mime, picture.depth = 3, "image/jpeg", 24
    picture.width = picture.height = 800
    picture.data = cover_jpeg
    flac.add_picture(picture)
    flac.save()
