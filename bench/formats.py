"""Formats and ZIP benchmark: what the delivery adds over the bare tools.

* Transcoding: a generated stereo 44.1 kHz FLAC of ``--minutes`` minutes to
  each preset, through ``delivery.formats.transcode`` (bounded child,
  progress parsing, then mutagen writing tags and a cover), against the
  ``ffmpeg`` command line alone with the same codec arguments, in the same
  run. Ratio = CLI time / ours (target >= 0.9), in wall time and in CPU time
  (the children's user + system time, plus this process's own for ours: what
  the delivery adds, which other work on the machine does not move).
* ZIP: ``--tracks`` files of ``--track-mib`` MiB as one stored ZIP laid out by
  ``delivery.ziplayout`` and read by Python (``parts_bytes``: the path without
  gunicorn's socket; under gunicorn ``bench/delivery.py`` measures the
  sendfile() path against nginx), against reading one file of the same total
  size in the same chunk size, in the same process; and the process's peak
  RSS growth while streaming (target < 16 MiB).
* Stamping: a ``--pages`` page PDF through ``delivery.stamping.stamp_pdf``
  against pypdf merely reading and rewriting it.

Usage::

    python bench/formats.py [--minutes 60] [--runs 3] [--tracks 20] [--track-mib 40] [--pages 500]

Nothing here is run by the test suite.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()


def _flac(path: Path, minutes: float) -> None:
    subprocess.run(
        [
            *("ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i"),
            f"anoisesrc=color=pink:sample_rate=44100:duration={minutes * 60}:amplitude=0.3",
            *("-ac", "2", "-sample_fmt", "s16", "-c:a", "flac", str(path)),
        ],
        check=True,
    )


def _cpu() -> float:
    """CPU seconds of this process and of its finished children, so far."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def bench_transcode(minutes: float, runs: int = 3) -> list[tuple[str, float, float, float]]:
    """Each preset ``runs`` times, the CLI and ours alternating; the medians."""
    from delivery.formats.presets import PRESETS
    from delivery.formats.transcode import Bounds, Cover, transcode, write_tags

    rows = []
    with tempfile.TemporaryDirectory() as work:
        source = Path(work) / "album.flac"
        _flac(source, minutes)
        for key, preset in PRESETS.items():
            cli_out = Path(work) / f"cli.{preset.extension}"
            ours_out = Path(work) / f"ours.{preset.extension}"
            cli_times, ours_times, cli_cpu, ours_cpu = [], [], [], []
            for _ in range(runs):
                cpu = _cpu()
                start = time.perf_counter()
                subprocess.run(
                    [
                        *("ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i", str(source)),
                        *preset.ffmpeg_args(channels=2),
                        str(cli_out),
                    ],
                    check=True,
                )
                cli_times.append(time.perf_counter() - start)
                cli_cpu.append(_cpu() - cpu)
                cpu = _cpu()
                start = time.perf_counter()
                transcode(
                    ffmpeg="ffmpeg",
                    source=str(source),
                    output=str(ours_out),
                    preset=preset,
                    duration=minutes * 60,
                    bounds=Bounds(seconds=3600),
                    on_progress=lambda percent: None,
                )
                write_tags(
                    str(ours_out),
                    preset=preset,
                    tags={"title": "Bench", "artist": "Bench", "track_number": 1},
                    cover=Cover(data=b"\xff\xd8" + b"0" * 50_000, mime="image/jpeg"),
                )
                ours_times.append(time.perf_counter() - start)
                ours_cpu.append(_cpu() - cpu)
            cli, ours = statistics.median(cli_times), statistics.median(ours_times)
            cpu_ratio = statistics.median(cli_cpu) / statistics.median(ours_cpu)
            rows.append((key, cli, ours, cpu_ratio))
            print(
                f"  {key:10} ffmpeg CLI {cli:7.2f} s   ours {ours:7.2f} s   ratio {cli / ours:4.2f}"
                f"   CPU ratio {cpu_ratio:4.2f}   (median of {runs}; load {os.getloadavg()[0]:.1f})"
            )
    return rows


def _rss_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def bench_zip(tracks: int, track_mib: int) -> tuple[float, float, float]:
    import zlib

    from delivery import ziplayout

    with tempfile.TemporaryDirectory() as work:
        members = []
        block = os.urandom(1024 * 1024)
        for number in range(1, tracks + 1):
            name = str(Path(work) / f"t{number:02d}.flac")
            crc = 0
            with open(name, "wb") as handle:
                for _ in range(track_mib):
                    handle.write(block)
                    crc = zlib.crc32(block, crc)
            members.append(
                ziplayout.Member(
                    arcname=f"Album/t{number:02d}.flac",
                    name=name,
                    size=track_mib << 20,
                    crc32=crc,
                    mtime=os.stat(name).st_mtime,
                )
            )
        parts = ziplayout.zip_layout(members)
        total = ziplayout.parts_size(parts)
        single = Path(work) / "single.bin"
        with open(single, "wb") as handle:
            for _ in range(tracks * track_mib):
                handle.write(block)
        start = time.perf_counter()
        with open(single, "rb") as handle:
            while handle.read(ziplayout.READ_CHUNK):
                pass
        plain = time.perf_counter() - start
        before = _rss_kib()
        peak = before
        start = time.perf_counter()
        sent = 0
        for chunk in ziplayout.parts_bytes(parts, lambda name: open(name, "rb")):  # noqa: SIM115 (closed by parts_bytes)
            sent += len(chunk)
            if sent % (64 << 20) < ziplayout.READ_CHUNK:
                peak = max(peak, _rss_kib())
        zipped = time.perf_counter() - start
        peak = max(peak, _rss_kib())
        assert sent == total, (sent, total)
    mb = total / 1e6
    print(f"  one file read    {mb / plain:8.0f} MB/s")
    print(f"  ZIP streamed     {mb / zipped:8.0f} MB/s   ratio {plain / zipped:4.2f}")
    print(f"  RSS growth while streaming {total >> 20} MiB: {(peak - before) / 1024:.1f} MiB")
    return plain, zipped, (peak - before) / 1024


def bench_stamp(pages: int) -> tuple[float, float]:
    from pypdf import PdfReader, PdfWriter

    from delivery.stamping import stamp_pdf

    with tempfile.TemporaryDirectory() as work:
        source = Path(work) / "book.pdf"
        writer = PdfWriter()
        for _ in range(pages):
            writer.add_blank_page(420, 595)
        with open(source, "wb") as handle:
            writer.write(handle)
        start = time.perf_counter()
        rewrite = PdfWriter(clone_from=PdfReader(source))
        with open(Path(work) / "rewritten.pdf", "wb") as handle:
            rewrite.write(handle)
        plain = time.perf_counter() - start
        start = time.perf_counter()
        stamp_pdf(str(source), str(Path(work) / "stamped.pdf"), licensee="A", line="Licensed to A")
        stamped = time.perf_counter() - start
    print(f"  pypdf rewrite {plain:6.2f} s   stamped {stamped:6.2f} s   x{stamped / plain:.1f}")
    return plain, stamped


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=60)
    parser.add_argument("--tracks", type=int, default=20)
    parser.add_argument("--track-mib", type=int, default=40)
    parser.add_argument("--zip-only", action="store_true")
    parser.add_argument("--pages", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3, help="transcoding runs per preset (median)")
    args = parser.parse_args()
    if shutil.which("ffmpeg") is None:
        print("ffmpeg is not installed")
        return 2
    _setup()
    if not args.zip_only:
        print(f"Transcoding a {args.minutes:g}-minute FLAC")
    rows = [] if args.zip_only else bench_transcode(args.minutes, args.runs)
    print(f"ZIP of {args.tracks} tracks of {args.track_mib} MiB")
    _plain, _zipped, growth = bench_zip(args.tracks, args.track_mib)
    print(f"Stamping a {args.pages}-page PDF")
    bench_stamp(args.pages)
    worst = min((cli / ours for _key, cli, ours, _cpu_ratio in rows), default=1.0)
    worst_cpu = min((cpu_ratio for *_times, cpu_ratio in rows), default=1.0)
    print(
        f"worst transcoding ratio {worst:.2f} wall, {worst_cpu:.2f} CPU (target >= 0.9); "
        f"RSS growth {growth:.1f} MiB (< 16)"
    )
    return 0 if min(worst, worst_cpu) >= 0.9 and growth < 16 else 1


if __name__ == "__main__":
    sys.exit(main())
