"""Every inspection runs in a child process that cannot take more than its time and memory.

The functions handed to the child live in `tests/catalog/sandbox_targets.py`,
which the child imports by name: it imports nothing heavy (no pytest, no Django).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from catalog.inspection import Limits, MediaRefused
from catalog.inspection.sandbox import run_bounded
from tests.catalog.sandbox_targets import CHATTER, crash, hang, hoard, refuse, write_file

REPO = Path(__file__).resolve().parents[2]

# Generous: under load, forking and importing the targets' module takes a while.
QUICK = Limits(seconds=10.0, memory_bytes=64 * 1024 * 1024)


def test_the_value_comes_back_from_the_child():
    assert run_bounded(os.getpid, limits=QUICK) != os.getpid()


def test_a_refusal_in_the_child_keeps_its_reason():
    with pytest.raises(MediaRefused, match=r"^No, and here is why.$"):
        run_bounded(refuse, limits=QUICK)


def test_a_reader_that_never_returns_is_stopped_at_the_deadline():
    with pytest.raises(MediaRefused, match=r"took too long to read \(more than 0.3 seconds\)"):
        run_bounded(hang, limits=Limits(seconds=0.3, memory_bytes=QUICK.memory_bytes))


def test_a_reader_that_wants_too_much_memory_is_refused():
    with pytest.raises(MediaRefused, match="needs too much memory to read"):
        run_bounded(hoard, limits=QUICK)


def test_a_reader_that_crashes_is_a_refusal_not_a_crash():
    with pytest.raises(MediaRefused, match="The reader stopped on this file"):
        run_bounded(crash, limits=QUICK)


def test_the_child_cannot_write_files(tmp_path):
    target = tmp_path / "written.bin"
    with pytest.raises(MediaRefused):
        run_bounded(write_file, str(target), limits=QUICK)
    assert not target.exists() or target.stat().st_size == 0


def test_nothing_the_child_prints_reaches_the_terminal():
    # A fresh interpreter, so the fork server (and its children) start with this
    # process's own stdout and stderr: without the sandbox the markers would show.
    script = (
        "from catalog.inspection import MediaRefused\n"
        "from catalog.inspection.sandbox import Limits, run_bounded\n"
        "from tests.catalog.sandbox_targets import chatter\n"
        "try:\n"
        "    run_bounded(chatter, limits=Limits(seconds=30))\n"
        "except MediaRefused as refused:\n"
        "    print('refused:', refused.reason)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert "refused: This file could not be read" in result.stdout, result.stderr
    for marker in CHATTER:
        assert marker not in result.stdout and marker not in result.stderr
