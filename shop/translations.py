"""The French catalogue: how it is rebuilt, and what makes it wrong.

One catalogue holds every app's strings: ``shop/locale/fr/LC_MESSAGES/`` with
``django.po`` (templates and Python) and ``djangojs.po`` (the uploader and the
import progress), each beside its compiled ``.mo``. It sits inside the ``shop``
package so a wheel ships it (package data in ``pyproject.toml``); the ``.mo``
files are committed, so nothing has to compile at install time.

``python manage.py translations`` rebuilds it from the sources (Django's
``makemessages --no-location``: no line numbers, so a diff shows only strings
that changed) and compiles it; ``--check`` changes nothing and fails when:

* ``makemessages`` would change a ``.po`` (a new, changed or removed string),
  found by running it on a copy of the sources in a temporary directory;
* a string has no French translation, or a fuzzy one, or the ``.po`` keeps
  obsolete entries;
* ``msgfmt --check`` refuses it (a ``%(name)s`` missing from a translation);
* a committed ``.mo`` does not hold what its ``.po`` says.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

import polib
from django.conf import settings
from django.core.management import call_command

LANGUAGES = ("fr",)
DOMAINS = ("django", "djangojs")
# What makemessages reads: the three apps and nothing else (not tests/, bench/, .venv/).
SOURCES = ("catalog", "delivery", "shop")
_SKIP = shutil.ignore_patterns(
    "__pycache__", "*.pyc", "*.mp3", "*.mp4", "*.ogg", "*.pdf", "*.epub", "*.mo", "*.po"
)


def catalogue_dir() -> Path:
    return Path(settings.LOCALE_PATHS[0])


def po_path(language: str, domain: str, root: Path | None = None) -> Path:
    return (root or catalogue_dir()) / language / "LC_MESSAGES" / f"{domain}.po"


def _makemessages_options(domain: str) -> dict[str, object]:
    return {
        "locale": list(LANGUAGES),
        "domain": domain,
        "no_location": True,
        "no_obsolete": True,
        "ignore_patterns": ["tests/*", "bench/*", "media/*", "staticfiles/*", "docs/*"],
        "verbosity": 0,
    }


def refresh() -> None:
    """Rebuild the .po files from the sources (keeping every translation), then compile."""
    here = Path.cwd()
    os.chdir(settings.BASE_DIR)
    try:
        for domain in DOMAINS:
            call_command("makemessages", **_makemessages_options(domain))
        call_command("compilemessages", locale=list(LANGUAGES), verbosity=0)
    finally:
        os.chdir(here)


def _entries(path: Path) -> list[tuple[str, str, str, tuple[str, ...]]]:
    """What a .po says, without its header (its dates change on every run)."""
    po = polib.pofile(str(path))
    return sorted(
        (
            entry.msgctxt or "",
            entry.msgid,
            entry.msgid_plural or "",
            tuple(entry.msgstr_plural[k] for k in sorted(entry.msgstr_plural))
            if entry.msgid_plural
            else (entry.msgstr,),
        )
        for entry in po
        if not entry.obsolete
    )


def makemessages_drift() -> list[str]:
    """The .po files that makemessages would change, run on a copy of the sources."""
    base = Path(settings.BASE_DIR)
    problems: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp)
        shutil.copy2(base / "manage.py", copy / "manage.py")
        for name in SOURCES:
            shutil.copytree(base / name, copy / name, ignore=_SKIP)
        for language in LANGUAGES:
            for domain in DOMAINS:
                target = po_path(language, domain, copy / "shop" / "locale")
                target.parent.mkdir(parents=True, exist_ok=True)
                if po_path(language, domain).exists():
                    shutil.copy2(po_path(language, domain), target)
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "shop.settings", "DEBUG": "true"}
        env["PYTHONPATH"] = str(copy)
        for domain in DOMAINS:
            flags = ["-l", *LANGUAGES, "-d", domain, "--no-location", "--no-obsolete"]
            result = subprocess.run(  # noqa: S603 (our own manage.py, fixed arguments)
                [sys.executable, "manage.py", "makemessages", *flags, "-v", "0"],
                cwd=copy,
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            if result.returncode:
                problems.append(f"makemessages -d {domain} failed: {result.stderr.strip()}")
        for language in LANGUAGES:
            for domain in DOMAINS:
                made, kept = (
                    po_path(language, domain, copy / "shop" / "locale"),
                    po_path(language, domain),
                )
                if not kept.exists():
                    problems.append(f"{kept} is missing: run `python manage.py translations`.")
                elif made.exists() and _entries(made) != _entries(kept):
                    problems.append(
                        f"{kept.relative_to(base)} is not up to date with the sources: "
                        "run `python manage.py translations` and translate what it adds."
                    )
    return problems


def _untranslated(po: polib.POFile) -> Iterable[str]:
    for entry in po:
        if entry.obsolete:
            yield f"obsolete entry kept: {entry.msgid!r}"
        elif "fuzzy" in entry.flags:
            yield f"fuzzy: {entry.msgid!r}"
        elif entry.msgid_plural:
            if not all(entry.msgstr_plural.values()) or not entry.msgstr_plural:
                yield f"untranslated plural: {entry.msgid!r}"
        elif not entry.msgstr:
            yield f"untranslated: {entry.msgid!r}"


def _translations(
    entries: Iterable[polib.POEntry | polib.MOEntry],
) -> dict[tuple[str, str], tuple[str, ...]]:
    return {
        (e.msgctxt or "", e.msgid): tuple(
            str(e.msgstr_plural[k]) for k in sorted(e.msgstr_plural, key=int)
        )
        if e.msgid_plural
        else (e.msgstr,)
        for e in entries
    }


def catalogue_problems() -> list[str]:
    """Missing, fuzzy or obsolete translations, msgfmt's refusals and stale .mo files."""
    problems: list[str] = []
    for language in LANGUAGES:
        for domain in DOMAINS:
            path = po_path(language, domain)
            if not path.exists():
                problems.append(f"{path} is missing.")
                continue
            po = polib.pofile(str(path))
            problems += [f"{path.name} ({language}): {p}" for p in _untranslated(po)]
            msgfmt = shutil.which("msgfmt")
            if msgfmt:
                result = subprocess.run(  # noqa: S603
                    [msgfmt, "--check", "-o", os.devnull, str(path)],
                    capture_output=True,
                    text=True,
                    check=False,
                )
                if result.returncode:
                    problems.append(f"msgfmt refuses {path.name}: {result.stderr.strip()}")
            mo = path.with_suffix(".mo")
            if not mo.exists():
                problems.append(f"{mo} is missing: run `python manage.py translations`.")
                continue
            compiled = _translations(polib.mofile(str(mo)))
            compiled.pop(("", ""), None)  # the header
            wanted = _translations(e for e in po if not e.obsolete and "fuzzy" not in e.flags)
            if compiled != {k: v for k, v in wanted.items() if any(v)}:
                problems.append(f"{mo.name} ({language}) is older than its .po: compile it again.")
    return problems
