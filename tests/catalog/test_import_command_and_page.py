"""`manage.py import_catalog` and the seller's import page (ZIP → plan → background import)."""

from __future__ import annotations

import io
import shutil
import zipfile
from io import StringIO
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command, execute_from_command_line
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse

from catalog.models import ImportJob, Product
from tests.catalog.test_import import BOOK, SINGLE, make_catalog
from tests.factories import DEMO_MEDIA, SellerFactory

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("import_catalog", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_the_command_dry_run_prints_the_plan_and_writes_nothing(seller, tmp_path):
    root = make_catalog(tmp_path / "cat", "Lost,ebook,fixed,5,,nowhere.pdf,,,,,,,\n" + BOOK)
    out, _ = run("--seller", seller.slug, str(root), "--dry-run")
    assert "skip" in out and "“nowhere.pdf” is missing" in out
    assert "create   field-notes" in out
    assert "Dry run: nothing was written." in out
    assert not Product.objects.exists() and not ImportJob.objects.exists()


def test_the_command_imports_with_a_progress_bar_and_a_summary(seller, tmp_path):
    root = make_catalog(tmp_path / "cat", BOOK + SINGLE)
    out, err = run("--seller", seller.slug, str(root))
    assert "[" + "#" * 30 + "] 2/2" in err
    assert "created  field-notes" in out and "created  departure" in out
    assert "2 created, 0 updated, 0 failed, 0 skipped." in out
    out, _ = run("--seller", seller.slug, str(root))
    assert "0 created, 2 updated" in out
    assert Product.objects.filter(seller=seller).count() == 2
    job = ImportJob.objects.latest("created_at")
    assert (job.status, job.processed_rows, job.updated_count) == ("done", 2, 2)


def test_the_command_reads_a_zip(seller, tmp_path):
    root = make_catalog(tmp_path / "cat", BOOK)
    archive = shutil.make_archive(str(tmp_path / "cat"), "zip", root)
    out, _ = run("--seller", seller.slug, archive)
    assert "1 created" in out
    assert Product.objects.get(seller=seller).slug == "field-notes"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--seller", "nobody", "."], "No seller has the slug “nobody”"),
        (["--seller", "maelle", "/no/such/place"], "does not exist"),
        (["--seller", "maelle", __file__], "neither a folder nor a ZIP"),
    ],
)
def test_the_command_refuses_bad_arguments_with_a_clear_message(seller, args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["--seller", "nobody", "."], 1, "No seller has the slug"),
        (["."], 2, "the following arguments are required: --seller"),
    ],
)
def test_the_command_exits_non_zero_without_a_traceback(seller, capsys, argv, code, message):
    with pytest.raises(SystemExit) as exited:
        execute_from_command_line(["manage.py", "import_catalog", *argv])
    assert exited.value.code == code
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


# --- The seller's page ----------------------------------------------------------------


def zip_of(root: Path) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(root.iterdir()):
            archive.write(path, path.name)
    return SimpleUploadedFile("my-catalog.zip", buffer.getvalue(), content_type="application/zip")


def test_a_seller_uploads_a_zip_sees_the_plan_then_imports(
    seller, seller_client, tmp_path, django_capture_on_commit_callbacks
):
    root = make_catalog(tmp_path / "cat", "Lost,ebook,fixed,5,,nowhere.pdf,,,,,,,\n" + BOOK)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = seller_client.post(reverse("catalog:sell_imports"), {"catalog": zip_of(root)})
    assert response.status_code == 302
    job = ImportJob.objects.get(seller=seller)
    # The request only kept the ZIP and queued its check for the worker.
    assert job.dry_run and job.status == ImportJob.Status.PLANNING and job.report == {}
    assert default_storage.exists(job.source)
    page = seller_client.get(response.url).content.decode()
    assert "Checking the catalog" in page and "Reading the catalog…" in page
    assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in page
    for callback in queued:
        callback()  # the worker's turn
    job.refresh_from_db()
    assert job.dry_run and job.status == ImportJob.Status.PLANNED
    page = seller_client.get(response.url).content.decode()
    assert "Nothing has been written yet" in page
    assert "“nowhere.pdf” is missing" in page and "Import 1 product" in page
    assert not Product.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        response = seller_client.post(reverse("catalog:sell_import", args=[job.pk]))
    assert response.status_code == 302
    progress = seller_client.get(reverse("catalog:sell_import_progress", args=[job.pk])).json()
    assert progress | {"error": ""} == {
        "status": "done",
        "status_label": "Finished",
        "total": 2,
        "processed": 2,
        "percent": 100,
        "created": 1,
        "updated": 0,
        "failed": 0,
        "finished": True,
        "summary": "2 of 2 rows · 1 created · 0 updated · 0 failed",
        "error": "",
    }
    assert Product.objects.get(seller=seller).slug == "field-notes"
    page = seller_client.get(reverse("catalog:sell_import", args=[job.pk])).content.decode()
    assert '<progress id="import-bar" max="2" value="2">' in page
    job.refresh_from_db()
    assert not job.dry_run
    assert job.source.startswith("imports/")
    assert not default_storage.exists(job.source)  # the uploaded ZIP is not kept


def test_a_running_import_page_refreshes_itself_without_javascript(seller, seller_client):
    job = ImportJob.objects.create(
        seller=seller, source="x", status=ImportJob.Status.RUNNING, total_rows=4, processed_rows=1
    )
    page = seller_client.get(reverse("catalog:sell_import", args=[job.pk])).content.decode()
    assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in page
    assert '<progress id="import-bar" max="4" value="1">25%</progress>' in page


def test_an_import_cannot_start_twice(seller, seller_client):
    job = ImportJob.objects.create(seller=seller, source="x", status=ImportJob.Status.DONE)
    response = seller_client.post(reverse("catalog:sell_import", args=[job.pk]), follow=True)
    assert "already started" in response.content.decode()


def test_another_sellers_import_is_not_found(seller):
    job = ImportJob.objects.create(seller=seller, source="x")
    other = Client()
    other.force_login(SellerFactory().user)
    for name in ("catalog:sell_import", "catalog:sell_import_progress"):
        assert other.get(reverse(name, args=[job.pk])).status_code == 404
    assert other.post(reverse("catalog:sell_import", args=[job.pk])).status_code == 404
    job.refresh_from_db()
    assert job.status == ImportJob.Status.PLANNED


def test_a_zip_with_an_escaping_entry_is_refused_on_the_page(seller, seller_client):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("catalog.csv", "title,kind\n")
        archive.writestr("../../evil.txt", "x")
    upload = SimpleUploadedFile("evil.zip", buffer.getvalue())
    response = seller_client.post(reverse("catalog:sell_imports"), {"catalog": upload})
    assert response.status_code == 400
    assert "would be written outside the catalog folder" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_a_file_that_is_not_a_zip_is_refused_on_the_page(seller_client):
    upload = SimpleUploadedFile("catalog.zip", (DEMO_MEDIA / "ebook-recipes.pdf").read_bytes())
    response = seller_client.post(reverse("catalog:sell_imports"), {"catalog": upload})
    assert response.status_code == 400
    assert "neither a folder nor a ZIP" in response.content.decode()
