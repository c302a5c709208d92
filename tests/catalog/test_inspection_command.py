"""`manage.py inspect_media`: one JSON line per path, in order, and exit status 0."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.factories import DEMO_MEDIA

REPO = Path(__file__).resolve().parents[2]


def _run(*args: str) -> list[dict]:
    out = StringIO()
    call_command("inspect_media", *args, stdout=out)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_each_path_gets_one_line_in_the_order_given(tmp_path):
    paths = [
        str(DEMO_MEDIA / name)
        for name in (
            "ebook-field-notes.pdf",
            "album-03-the-long-curve.mp3",
            "ebook-field-notes.epub",
            "video-harbour.mp4",
        )
    ]
    lines = _run(*paths, "--jobs", "2")
    assert [line["path"] for line in lines] == paths
    pdf, mp3, epub, mp4 = lines
    assert all(line["ok"] for line in lines)
    assert (pdf["kind"], pdf["mime"], pdf["pages"], pdf["title"]) == (
        "ebook",
        "application/pdf",
        4,
        "Field Notes on Small Shops",
    )
    assert pdf["sha256"] == hashlib.sha256(Path(paths[0]).read_bytes()).hexdigest()
    assert pdf["size_bytes"] == Path(paths[0]).stat().st_size
    assert mp3["duration_seconds"] > 10 and mp3["tags"]["title"] == "The Long Curve"
    assert (epub["title"], epub["authors"]) == ("Field Notes on Small Shops", ["Maëlle Durand"])
    assert (mp4["width"], mp4["height"]) == (320, 180)


def test_missing_paths_directories_and_refusals_are_judged_not_fatal(tmp_path):
    (tmp_path / "fake.mp3").write_bytes(b"%PDF-1.4 not really")
    lines = _run(str(tmp_path / "nope.pdf"), str(tmp_path), str(tmp_path / "fake.mp3"))
    assert [line["ok"] for line in lines] == [False, False, False]
    assert [line["error"] for line in lines[:2]] == [
        "No such file.",
        "This is a directory, not a file.",
    ]
    assert "MP3" in lines[2]["error"] and set(lines[2]) == {"path", "ok", "error"}


def test_bad_options_are_a_clear_error():
    with pytest.raises(CommandError, match="--jobs of 1 or more"):
        call_command("inspect_media", "x", "--jobs", "0")


def test_from_a_terminal_it_exits_0_and_prints_no_traceback(tmp_path):
    (tmp_path / "empty.epub").write_bytes(b"")
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "inspect_media",
            str(DEMO_MEDIA / "album-01-departure.mp3"),
            str(tmp_path / "empty.epub"),
        ],
        cwd=REPO,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert first["ok"] and first["cover"]["mime"] == "image/jpeg"
    assert second == {
        "path": str(tmp_path / "empty.epub"),
        "ok": False,
        "error": "The file is empty.",
    }
