"""ffmpeg, bounded, and mutagen: a lossless file in, a finished file of a preset out.

Pure functions on paths, no ORM. ``transcode`` runs ffmpeg as a child with
the same kind of bounds as the media inspection (``catalog.inspection.sandbox``):
``RLIMIT_AS`` (memory), ``RLIMIT_CPU`` (a backstop), ``RLIMIT_FSIZE`` (the
output cannot grow past a bound) and no core dumps, plus a wall-clock
deadline after which the parent kills it. Progress comes from ffmpeg's
``-progress`` key=value lines on its stdout. Any failure raises
:class:`TranscodeFailed` with a reason written for a person, and the caller
stores nothing: the output is a temporary file until it is complete.

``write_tags`` copies the normalised tags and the cover read by the media
inspection (``catalog.inspection.audio``) into the output's own tag system.
"""

from __future__ import annotations

import base64
import contextlib
import os
import resource
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from delivery.formats.presets import Preset

Tags = dict[str, Any]


class TranscodeFailed(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Bounds:
    seconds: float = 900.0
    memory_bytes: int = 1024 * 1024 * 1024
    output_bytes: int = 4 * 1024 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Cover:
    data: bytes
    mime: str
    width: int = 0
    height: int = 0


def _confine(bounds: Bounds) -> Callable[[], None]:
    def limit() -> None:
        cpu = int(bounds.seconds) + 5
        for which, value in (
            (resource.RLIMIT_CORE, 0),
            (resource.RLIMIT_CPU, cpu),
            (resource.RLIMIT_AS, bounds.memory_bytes),
            (resource.RLIMIT_FSIZE, bounds.output_bytes),
        ):
            resource.setrlimit(which, (value, value))

    return limit


def ffmpeg_command(
    *, ffmpeg: str, source: str, output: str, preset: Preset, channels: int | None
) -> list[str]:
    """The command line: the first audio stream only, no tags or chapters from
    ffmpeg (mutagen writes them after), progress on stdout."""
    return [
        ffmpeg,
        *("-nostdin", "-hide_banner", "-loglevel", "error", "-y"),
        *("-i", source),
        *("-map", "0:a:0", "-map_metadata", "-1", "-map_chapters", "-1"),
        *preset.ffmpeg_args(channels=channels),
        *("-progress", "pipe:1", "-nostats"),
        output,
    ]


def transcode(
    *,
    ffmpeg: str,
    source: str,
    output: str,
    preset: Preset,
    duration: float | None,
    channels: int | None = None,
    bounds: Bounds = Bounds(),
    on_progress: Callable[[int], None] | None = None,
) -> None:
    """Make ``output`` from ``source``; raise TranscodeFailed, leaving no usable output."""
    command = ffmpeg_command(
        ffmpeg=ffmpeg, source=source, output=output, preset=preset, channels=channels
    )
    try:
        process = subprocess.Popen(  # noqa: S603 - fixed arguments, no shell
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            preexec_fn=_confine(bounds),
        )
    except FileNotFoundError:
        raise TranscodeFailed(_("The converter (ffmpeg) is not installed on the server.")) from None
    except OSError as error:
        raise TranscodeFailed(
            _("The converter could not start: %(error)s") % {"error": error}
        ) from error
    killed = threading.Event()

    def kill() -> None:
        killed.set()
        process.kill()

    timer = threading.Timer(bounds.seconds, kill)
    timer.start()
    errors: list[bytes] = []
    reader = threading.Thread(target=lambda: errors.append(process.stderr.read()))  # type: ignore[union-attr]
    reader.start()
    try:
        _follow(process, duration, on_progress)
        code = process.wait()
    finally:
        timer.cancel()
        reader.join()
    if code != 0 or killed.is_set():
        _discard(output)
        raise TranscodeFailed(_reason(code, killed.is_set(), b"".join(errors), bounds))


def _follow(
    process: subprocess.Popen[bytes],
    duration: float | None,
    on_progress: Callable[[int], None] | None,
) -> None:
    assert process.stdout is not None
    last_report = 0.0
    for line in process.stdout:
        if not line.startswith(b"out_time_us=") or not duration or on_progress is None:
            continue
        try:
            done = int(line.split(b"=", 1)[1]) / 1_000_000
        except ValueError:
            continue
        now = time.monotonic()
        if now - last_report >= 0.5:
            last_report = now
            on_progress(max(0, min(99, int(100 * done / duration))))


def _discard(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _reason(code: int, killed: bool, stderr: bytes, bounds: Bounds) -> str:
    if killed:
        return _(
            "The conversion took too long (more than %(seconds)d seconds) and was stopped."
        ) % {"seconds": bounds.seconds}
    if code in (-24, -9) or code == 128 + 24:  # SIGXCPU, or killed by the kernel
        return _("The conversion used too much time or memory and was stopped.")
    if code == -25:  # SIGXFSZ
        return _("The conversion produced far more data than expected and was stopped.")
    text = stderr.decode("utf-8", "replace").strip().splitlines()
    detail = text[-1][:200] if text else _("exit code %(code)s") % {"code": code}
    return _("The source file could not be converted (it may be damaged): %(detail)s") % {
        "detail": detail
    }


# --- tags ----------------------------------------------------------------------

_VORBIS_NAMES = {
    "title": "TITLE",
    "artist": "ARTIST",
    "album": "ALBUM",
    "album_artist": "ALBUMARTIST",
    "genre": "GENRE",
    "year": "DATE",
    "track_number": "TRACKNUMBER",
    "track_total": "TRACKTOTAL",
    "disc_number": "DISCNUMBER",
    "disc_total": "DISCTOTAL",
}
_MP4_NAMES = {
    "title": "\xa9nam",
    "artist": "\xa9ART",
    "album": "\xa9alb",
    "album_artist": "aART",
    "genre": "\xa9gen",
    "year": "\xa9day",
}


def _picture(cover: Cover) -> Any:
    from mutagen.flac import Picture

    picture = Picture()
    picture.type = 3  # front cover
    picture.mime = cover.mime
    picture.width, picture.height = cover.width, cover.height
    picture.depth = 24
    picture.data = cover.data
    return picture


def write_tags(path: str, *, preset: Preset, tags: Tags, cover: Cover | None) -> None:
    """Write ``tags`` (the inspection's vocabulary) and ``cover`` into the file at ``path``."""
    if preset.tags == "id3":
        _id3(path, tags, cover)
    elif preset.tags == "mp4":
        _mp4(path, tags, cover)
    else:
        _vorbis(path, preset, tags, cover)


def _vorbis(path: str, preset: Preset, tags: Tags, cover: Cover | None) -> None:
    import mutagen
    from mutagen.flac import FLAC

    parsed: Any = FLAC(path) if preset.key == "flac" else mutagen.File(path)
    if parsed is None:
        raise TranscodeFailed(_("The converted file could not be read back."))
    if parsed.tags is None:
        parsed.add_tags()
    for name, key in _VORBIS_NAMES.items():
        if name in tags:
            parsed.tags[key] = [str(tags[name])]
    if cover is not None:
        picture = _picture(cover)
        if isinstance(parsed, FLAC):
            parsed.clear_pictures()
            parsed.add_picture(picture)
        else:
            encoded = base64.b64encode(picture.write()).decode("ascii")
            parsed.tags["METADATA_BLOCK_PICTURE"] = [encoded]
    parsed.save()


def _id3(path: str, tags: Tags, cover: Cover | None) -> None:
    from mutagen import id3

    try:
        frames = id3.ID3(path)
    except id3.ID3NoHeaderError:
        frames = id3.ID3()
    texts = {
        "title": id3.TIT2,
        "artist": id3.TPE1,
        "album": id3.TALB,
        "album_artist": id3.TPE2,
        "genre": id3.TCON,
        "year": id3.TDRC,
    }
    for name, frame in texts.items():
        if name in tags:
            frames.add(frame(encoding=3, text=[str(tags[name])]))
    for number, total, frame in (
        ("track_number", "track_total", id3.TRCK),
        ("disc_number", "disc_total", id3.TPOS),
    ):
        if number in tags:
            text = f"{tags[number]}/{tags[total]}" if total in tags else str(tags[number])
            frames.add(frame(encoding=3, text=[text]))
    if cover is not None:
        frames.add(id3.APIC(encoding=3, mime=cover.mime, type=3, desc="Cover", data=cover.data))
    frames.save(path, v2_version=3)


def _mp4(path: str, tags: Tags, cover: Cover | None) -> None:
    from mutagen.mp4 import MP4, MP4Cover

    parsed = MP4(path)
    if parsed.tags is None:
        parsed.add_tags()
    assert parsed.tags is not None
    for name, atom in _MP4_NAMES.items():
        if name in tags:
            parsed.tags[atom] = [str(tags[name])]
    for number, total, atom in (
        ("track_number", "track_total", "trkn"),
        ("disc_number", "disc_total", "disk"),
    ):
        if number in tags:
            parsed.tags[atom] = [(int(tags[number]), int(tags.get(total, 0)))]
    if cover is not None and cover.mime in ("image/jpeg", "image/png"):
        kind = MP4Cover.FORMAT_PNG if cover.mime == "image/png" else MP4Cover.FORMAT_JPEG
        parsed.tags["covr"] = [MP4Cover(cover.data, imageformat=kind)]
    parsed.save()
