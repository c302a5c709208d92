"""Management commands answer in the shell's language (catalog/cli.py)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from catalog.cli import shell_language

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("environ", "language"),
    [
        ({"LANG": "fr_FR.UTF-8"}, "fr"),
        ({"LANG": "fr_CA.UTF-8"}, "fr"),
        ({"LC_MESSAGES": "fr_FR.UTF-8", "LANG": "en_GB.UTF-8"}, "fr"),
        ({"LC_ALL": "en_US.UTF-8", "LANG": "fr_FR.UTF-8"}, "en"),
        ({"LC_ALL": "C.UTF-8", "LANG": "fr_FR.UTF-8"}, "en"),  # C is a choice: the default
        ({"LANG": "de_DE.UTF-8"}, "en"),  # a language the shop does not speak
        ({"LANG": "fr_FR@euro"}, "fr"),
        ({"ECHOPPE_LANGUAGE": "fr", "LC_ALL": "en_US.UTF-8"}, "fr"),
        ({"ECHOPPE_LANGUAGE": "klingon"}, "en"),
        ({}, "en"),
    ],
)
def test_the_shell_s_locale_picks_the_language(environ, language):
    assert shell_language(environ) == language


@pytest.mark.django_db
def test_a_command_speaks_french_in_a_french_shell(monkeypatch):
    monkeypatch.setenv("ECHOPPE_LANGUAGE", "fr")
    out = io.StringIO()
    call_command("purge_uploads", stdout=out)
    assert out.getvalue().strip() == "0 envoi expiré supprimé."
    with pytest.raises(CommandError, match="«\u00a02027-1\u00a0» n’est pas un trimestre"):
        call_command("vat_report", "--quarter", "2027-1")
    monkeypatch.setenv("ECHOPPE_LANGUAGE", "en")
    out = io.StringIO()
    call_command("purge_uploads", stdout=out)
    assert out.getvalue().strip() == "Removed 0 expired uploads."


def test_help_is_in_the_shell_s_language():
    env = {k: v for k, v in os.environ.items() if k not in ("ECHOPPE_LANGUAGE", "LC_ALL")}
    env.update(LANG="fr_FR.UTF-8", DEBUG="true")
    done = subprocess.run(
        [sys.executable, "manage.py", "library_link", "--help"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    text = " ".join(done.stdout.split())  # argparse wraps lines
    assert "Affiche l’URL absolue d’un nouveau lien de bibliothèque" in text
    assert "l’adresse e-mail avec laquelle l’acheteur a payé" in text
