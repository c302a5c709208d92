"""Two releases at once on a fresh PostgreSQL database both succeed."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

ROOT = Path(__file__).resolve().parents[2]
PG = "postgres://postgres@127.0.0.1:5432"


def _psql(sql: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-c", sql],
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.django_db
def test_release_migrates_and_says_so():
    out = StringIO()
    call_command("release", stdout=out)
    assert "Release done." in out.getvalue()


@pytest.mark.slow
def test_two_releases_at_once_on_a_fresh_postgresql_database_both_succeed():
    if _psql("SELECT 1").returncode != 0:
        pytest.skip("no PostgreSQL at 127.0.0.1:5432")
    name = f"echoppe_release_{uuid.uuid4().hex[:8]}"
    assert _psql(f"CREATE DATABASE {name}").returncode == 0
    try:
        env = {
            **os.environ,
            "DATABASE_URL": f"{PG}/{name}",
            "SECRET_KEY": "release-test-key-0123456789-abcdefghijklmnopqrstuvwxyz",
            "PYTHONPATH": str(ROOT),
            "DJANGO_SETTINGS_MODULE": "shop.settings",
        }
        runs = [
            subprocess.Popen(
                [sys.executable, "manage.py", "release"],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for _ in range(2)
        ]
        outputs = [run.communicate(timeout=300)[0] for run in runs]
        assert [run.returncode for run in runs] == [0, 0], outputs
        assert all("Release done." in output for output in outputs)
        # One of them applied the migrations, the other found nothing to do.
        assert sum("Applying " in output for output in outputs) == 1, outputs
    finally:
        _psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
