"""Catalog ZIPs: bounded before anything is read, planned in the worker, within the quota."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from catalog import imports
from catalog.imports import ImportRefused, apply_plan, opened_catalog, plan_catalog
from catalog.models import ImportJob, Product
from tests.catalog.test_import import BOOK, HEADER, SINGLE, make_catalog
from tests.catalog.test_request_size import MiB, StreamedBody, wsgi_post
from tests.factories import DEMO_MEDIA

pytestmark = pytest.mark.django_db


def zip_bytes(members: dict[str, bytes], *, method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def catalog_members(rows: str = BOOK) -> dict[str, bytes]:
    members = {"catalog.csv": (HEADER + rows).encode()}
    for name in ("ebook-field-notes.pdf", "ebook-field-notes.epub", "album-01-departure.mp3"):
        members[name] = (DEMO_MEDIA / name).read_bytes()
    return members


def upload(client: Client, data: bytes, name: str = "catalog.zip"):
    return client.post(reverse("catalog:sell_imports"), {"catalog": SimpleUploadedFile(name, data)})


def stored_imports() -> list[str]:
    try:
        return default_storage.listdir("imports")[1]
    except FileNotFoundError:
        return []


@pytest.fixture
def temp_dir(tmp_path: Path, settings) -> Path:
    folder = tmp_path / "tmp"
    folder.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(folder)
    return folder


def test_many_members_just_under_the_ratio_floor_are_a_bomb_refused_at_once(
    seller_client, temp_dir
):
    # 70 MiB of zeros in 70 members of 1 MiB, each far below the per-member floor:
    # the archive is ~70 KB. The same shape at 16 MiB unpacks to 16 GiB.
    data = zip_bytes({"catalog.csv": HEADER.encode()} | {f"{i}.bin": bytes(MiB) for i in range(70)})
    assert len(data) < 200_000
    response = upload(seller_client, data)
    assert response.status_code == 400
    assert "This ZIP is a zip bomb" in response.content.decode()
    assert "would unpack to 73.4 MB" in response.content.decode()
    assert not ImportJob.objects.exists() and stored_imports() == []
    assert list(temp_dir.iterdir()) == []


def test_the_number_of_members_is_bounded(seller_client, settings):
    settings.IMPORT_ZIP_MAX_MEMBERS = 20
    data = zip_bytes({"catalog.csv": HEADER.encode()} | {f"{i}.txt": b"x" for i in range(20)})
    response = upload(seller_client, data)
    assert response.status_code == 400
    assert "This ZIP holds 21 files and folders; a catalog may hold 20." in (
        response.content.decode()
    )
    assert not ImportJob.objects.exists()


def test_the_default_member_limit_is_2000(settings):
    assert settings.IMPORT_ZIP_MAX_MEMBERS == 2000


def test_a_zip_larger_than_the_quota_is_refused_from_its_central_directory(seller_client, settings):
    settings.SELLER_QUOTA_BYTES = 100_000
    data = zip_bytes({"catalog.csv": HEADER.encode(), "noise.bin": os.urandom(150_000)})
    response = upload(seller_client, data)
    assert response.status_code == 400
    assert "This ZIP holds 150.1 KB of files, more than your whole storage quota (100 KB)." in (
        response.content.decode()
    )
    assert not ImportJob.objects.exists() and stored_imports() == []


def test_a_zip_body_past_the_quota_is_refused_before_it_is_read(seller_client, settings, temp_dir):
    settings.SELLER_QUOTA_BYTES = 100_000
    body = StreamedBody(300 * MiB)
    answer = wsgi_post(
        reverse("catalog:sell_imports"),
        body,
        declared=body.size,
        cookie=f"sessionid={seller_client.cookies['sessionid'].value}",
    )
    assert answer["status"] == 413
    assert "(your whole storage quota is 100 KB)" in answer["body"]
    assert body.read_bytes == 0 and list(temp_dir.iterdir()) == []
    assert not ImportJob.objects.exists()


def test_a_member_larger_than_it_declares_is_refused_while_it_is_read(seller, tmp_path, temp_dir):
    path = tmp_path / "cat.zip"
    members = catalog_members()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        pdf = next(i for i in archive.filelist if i.filename == "ebook-field-notes.pdf")
        pdf.file_size = 1000  # the central directory lies; the data is longer
    with (
        pytest.raises(ImportRefused, match=r"“ebook-field-notes\.pdf” cannot be read"),
        opened_catalog(path) as source,
    ):
        plan_catalog(seller=seller, root=source)
    assert list(temp_dir.iterdir()) == []


def test_the_request_stores_the_zip_and_the_worker_plans_it_with_progress(
    seller, seller_client, django_capture_on_commit_callbacks, monkeypatch
):
    inspected = []
    real = imports.inspect_path
    monkeypatch.setattr(
        imports, "inspect_path", lambda *a, **k: inspected.append(a[0]) or real(*a, **k)
    )
    progress: list[tuple[int, int]] = []
    real_plan = imports.plan_catalog

    def watched(**kwargs):
        report = kwargs["progress"]

        def both(done: int, total: int) -> None:
            progress.append((done, total))
            report(done, total)

        return real_plan(**kwargs | {"progress": both})

    monkeypatch.setattr(imports, "plan_catalog", watched)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = upload(seller_client, zip_bytes(catalog_members(BOOK + SINGLE)))
    assert response.status_code == 302
    assert inspected == []  # nothing inspected in the web request
    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.PLANNING
    starting = seller_client.post(reverse("catalog:sell_import", args=[job.pk]), follow=True)
    assert "This catalog is still being checked." in starting.content.decode()

    for callback in queued:
        callback()
    job.refresh_from_db()
    assert progress == [(0, 2), (1, 2)]
    assert (job.status, job.total_rows, len(job.report["rows"])) == ("planned", 2, 2)
    assert len(inspected) == 4  # pdf, epub, the mp3 as a file and as a preview
    assert default_storage.exists(job.source)  # kept for the import itself
    page = seller_client.get(reverse("catalog:sell_import", args=[job.pk])).content.decode()
    assert "Import 2 products" in page


def test_a_hostile_zip_found_by_the_worker_fails_the_job_and_is_deleted(
    seller, seller_client, django_capture_on_commit_callbacks
):
    members = catalog_members()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        pdf = next(i for i in archive.filelist if i.filename == "ebook-field-notes.pdf")
        pdf.file_size = 10  # found only when the member is read
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(seller_client, buffer.getvalue())
    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.FAILED
    assert "cannot be read" in job.error
    assert not default_storage.exists(job.source)
    progress = seller_client.get(reverse("catalog:sell_import_progress", args=[job.pk])).json()
    assert progress["finished"] and "cannot be read" in progress["error"]
    page = seller_client.get(response.url).content.decode()
    assert "Upload a catalog again" in page


def test_a_planning_page_polls_and_says_what_is_checked(seller, seller_client):
    job = ImportJob.objects.create(
        seller=seller,
        source="x",
        status=ImportJob.Status.PLANNING,
        dry_run=True,
        total_rows=1000,
        processed_rows=250,
    )
    page = seller_client.get(reverse("catalog:sell_import", args=[job.pk])).content.decode()
    assert '<progress id="import-bar" max="1000" value="250">25%</progress>' in page
    assert "250 of 1000 checked · nothing is written yet" in page
    assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in page
    progress = seller_client.get(reverse("catalog:sell_import_progress", args=[job.pk])).json()
    assert (progress["finished"], progress["status_label"]) == (False, "Being checked")


def test_an_import_past_the_quota_fails_the_row_and_keeps_nothing(seller, tmp_path, settings):
    root = make_catalog(tmp_path / "cat", BOOK)
    settings.SELLER_QUOTA_BYTES = (root / "ebook-field-notes.pdf").stat().st_size + 10
    plan = apply_plan(seller=seller, root=root, plan=plan_catalog(seller=seller, root=root))
    assert plan.rows[0].outcome == "failed"
    assert "does not fit in your storage quota" in plan.rows[0].error
    assert not Product.objects.exists()
