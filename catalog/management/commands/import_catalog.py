"""`manage.py import_catalog --seller SLUG PATH [--dry-run]`: import a whole catalog.

PATH is a folder or a ZIP with a manifest, or a folder of tagged audio files
(the format is in ``catalog/imports.py``). The plan is printed row by row with
its problems; without ``--dry-run`` the importable rows are then written, one
product per transaction, with a progress bar on stderr and a summary. Exits 1
when the arguments or the catalog cannot be used, 0 otherwise (rows that were
skipped or failed are listed, with the reason).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext

from catalog.cli import PeopleCommand
from catalog.imports import (
    ImportRefused,
    Plan,
    PlannedRow,
    import_job_run,
    opened_catalog,
    plan_catalog,
)
from catalog.models import ImportJob, Seller

BAR_WIDTH = 30


class Command(PeopleCommand):
    help = gettext_noop(
        "Import a catalog (folder or ZIP, with a manifest or tagged audio) for a seller."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", metavar="PATH", help=gettext_noop("a folder or a ZIP archive"))
        parser.add_argument(
            "--seller", required=True, metavar="SLUG", help=gettext_noop("the seller's slug")
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help=gettext_noop("show what would happen; write nothing"),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        seller = Seller.objects.select_related("user").filter(slug=options["seller"]).first()
        if seller is None:
            raise CommandError(
                _("No seller has the slug “%(slug)s”.") % {"slug": options["seller"]}
            )
        path = Path(options["path"])
        if not path.exists():
            raise CommandError(_("%(path)s does not exist.") % {"path": path})
        try:
            with opened_catalog(path) as root:
                plan = plan_catalog(seller=seller, root=root)
                self._show_plan(plan)
                if options["dry_run"]:
                    self.stdout.write(_("Dry run: nothing was written."))
                    return
                if not plan.importable:
                    self.stdout.write(_("Nothing to import."))
                    return
                job = ImportJob.objects.create(
                    seller=seller,
                    source=str(path.resolve())[:500],
                    source_name=path.name,
                    status=ImportJob.Status.QUEUED,
                    total_rows=len(plan.rows),
                )
                job = import_job_run(
                    job=job,
                    root=root,
                    plan=plan,
                    on_progress=lambda done, row: self._bar(done, len(plan.rows)),
                )
        except ImportRefused as exc:
            raise CommandError(str(exc)) from None
        self.stderr.write("")
        self._show_outcome(plan, job)

    def _show_plan(self, plan: Plan) -> None:
        count = len(plan.rows)
        if plan.mode == "manifest":
            heading = ngettext(
                "Plan from the manifest: %(count)d product.",
                "Plan from the manifest: %(count)d products.",
                count,
            )
        else:
            heading = ngettext(
                "Plan from the audio tags: %(count)d product.",
                "Plan from the audio tags: %(count)d products.",
                count,
            )
        self.stdout.write(heading % {"count": count})
        for problem in plan.problems:
            self.stdout.write(self.style.WARNING(f"  ! {problem}"))
        for row in plan.rows:
            self.stdout.write(self._line(row, row.action_label))
            for note in row.notes:
                self.stdout.write(f"      {note}")
            for problem in row.problems:
                self.stdout.write(self.style.ERROR(f"      ✗ {problem}"))

    def _line(self, row: PlannedRow, word: str) -> str:
        files = sum(1 for f in row.files if f.role == "deliverable")
        previews = len(row.files) - files
        return (
            f"  {row.line:>4}  {word:<8} {row.slug or '-':<32} {row.title[:40]:<40} "
            + ngettext("%(count)d file", "%(count)d files", files) % {"count": files}
            + ", "
            + ngettext("%(count)d preview", "%(count)d previews", previews) % {"count": previews}
        )

    def _bar(self, done: int, total: int) -> None:
        filled = round(BAR_WIDTH * done / total) if total else BAR_WIDTH
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        self.stderr.write(f"\r[{bar}] {done}/{total}", ending="")
        self.stderr.flush()

    def _show_outcome(self, plan: Plan, job: ImportJob) -> None:
        if job.status == ImportJob.Status.FAILED:
            raise CommandError(job.error or _("The import failed."))
        self.stdout.write(_("Result:"))
        for row in plan.rows:
            self.stdout.write(self._line(row, row.outcome_label))
            if row.error:
                self.stdout.write(self.style.ERROR(f"      ✗ {row.error}"))
        self.stdout.write(
            self.style.SUCCESS(
                _(
                    "%(created)d created, %(updated)d updated, %(failed)d failed, "
                    "%(skipped)d skipped."
                )
                % {
                    "created": job.created_count,
                    "updated": job.updated_count,
                    "failed": job.failed_count,
                    "skipped": sum(1 for r in plan.rows if r.outcome == "skipped"),
                }
            )
        )
