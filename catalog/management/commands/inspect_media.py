"""`manage.py inspect_media PATH [PATH ...]`: what each file is, one JSON object per line.

Each line is `{"path", "ok": true, "kind", "mime", "size_bytes", "sha256", ...}`
with what the file says about itself (`duration_seconds`, `width`, `height`,
`pages`, `title`, `authors`, `tags`...), or `{"path", "ok": false, "error"}`
with the reason, for a person. Lines come in the order of the paths. Every file
is read in its own child process bounded in time and memory, the same code that
inspects uploads. The exit status is 0 once every path has been judged
(refusing a file is a judgement).
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from catalog.cli import PeopleCommand
from catalog.inspection import DEFAULT_LIMITS, Limits, describe_path


class Command(PeopleCommand):
    help = gettext_noop(
        "Inspect media files and print one JSON object per file (see the module docstring)."
    )
    # It reads files, not the database or the URLconf: nothing for the checks to protect.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "paths", nargs="+", metavar="PATH", help=gettext_noop("files to inspect")
        )
        parser.add_argument(
            "--jobs",
            type=int,
            default=1,
            help=gettext_noop("files read at the same time, each in its own process (default 1)"),
        )
        parser.add_argument(
            "--timeout",
            type=float,
            default=DEFAULT_LIMITS.seconds,
            help=gettext_noop("seconds allowed per file (default %(default)g)"),
        )
        parser.add_argument(
            "--memory-mb",
            type=int,
            default=DEFAULT_LIMITS.memory_bytes // 1024**2,
            help=gettext_noop("memory allowed per file, in MiB (default %(default)d)"),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["jobs"] < 1 or options["timeout"] <= 0 or options["memory_mb"] < 64:
            raise CommandError(
                _("Use --jobs of 1 or more, a positive --timeout, --memory-mb >= 64.")
            )
        limits = Limits(seconds=options["timeout"], memory_bytes=options["memory_mb"] * 1024**2)
        judge = partial(describe_path, limits=limits)
        try:
            with ThreadPoolExecutor(max_workers=options["jobs"]) as pool:
                # map() yields in the order of the paths, whatever finishes first.
                for line in pool.map(judge, options["paths"]):
                    self.stdout.write(json.dumps(line, ensure_ascii=False))
                    self.stdout.flush()
        except Exception as error:  # the machinery itself failed: say so, without a traceback
            raise CommandError(
                _("inspect_media stopped: %(error)s")
                % {"error": f"{type(error).__name__}: {error}"}
            ) from error
