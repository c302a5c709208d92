"""Catalog imports through the API: the Import page's ZIP, its plan, then the import."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.core.files.storage import default_storage

from catalog.models import ImportJob, Product
from shop.api.scopes import CATALOG_READ
from tests.api.conftest import Api, Shop, error_of
from tests.catalog.test_import import BOOK, make_catalog

pytestmark = pytest.mark.django_db


def _stored() -> set[str]:
    try:
        return set(default_storage.listdir("imports")[1])
    except FileNotFoundError:
        return set()


@pytest.fixture(autouse=True)
def _stored_imports_removed():
    """The test's transaction rolls its jobs back, not their stored ZIPs: other tests
    count what is stored."""
    before = _stored()
    yield
    for name in _stored() - before:
        default_storage.delete(f"imports/{name}")


def catalog_zip(tmp_path, rows: str = BOOK) -> bytes:
    root = make_catalog(tmp_path / "cat", rows)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(root.iterdir()):
            archive.write(path, path.name)
    return buffer.getvalue()


def send(api: Api, token: str, data: bytes):
    return api.call("POST", "imports", token=token, raw=data, content_type="application/zip")


def test_a_zip_is_planned_then_imported(
    api: Api, shop_a: Shop, tmp_path, django_capture_on_commit_callbacks
) -> None:
    before = Product.objects.filter(seller=shop_a.seller).count()
    with django_capture_on_commit_callbacks(execute=True):
        sent = send(api, shop_a.token(), catalog_zip(tmp_path))
    assert sent.status_code == 201, sent.content
    job_id = sent.json()["id"]
    planned = api.get(f"imports/{job_id}", shop_a.token()).json()
    assert (planned["status"], planned["dry_run"]) == ("planned", True)
    assert Product.objects.filter(seller=shop_a.seller).count() == before  # nothing written
    with django_capture_on_commit_callbacks(execute=True):
        started = api.call("POST", f"imports/{job_id}/start", token=shop_a.token())
    assert started.status_code == 200, started.content
    done = api.get(f"imports/{job_id}", shop_a.token()).json()
    assert (done["status"], done["created"], done["failed"]) == ("done", 1, 0)
    assert Product.objects.get(seller=shop_a.seller, slug="field-notes").assets.count() == 2
    again = api.call("POST", f"imports/{job_id}/start", token=shop_a.token())
    assert again.status_code == 409 and error_of(again)["code"] == "conflict"


def test_a_bad_zip_or_a_wrong_scope_or_type_is_refused_and_keeps_nothing(
    api: Api, shop_a: Shop, shop_b: Shop, tmp_path
) -> None:
    not_zip = send(api, shop_a.token(), b"plain text, not a zip")
    assert not_zip.status_code == 400 and error_of(not_zip)["code"] == "refused"
    scoped = send(api, shop_a.token(CATALOG_READ), catalog_zip(tmp_path))
    assert scoped.status_code == 403
    as_text = api.call("POST", "imports", token=shop_a.token(), raw=b"x", content_type="text/plain")
    assert as_text.status_code == 415
    assert not ImportJob.objects.exists()
    theirs = ImportJob.objects.create(
        seller=shop_b.seller,
        source="x.zip",
        source_name="x.zip",
        status=ImportJob.Status.PLANNED,
        dry_run=True,
    )
    assert api.get(f"imports/{theirs.pk}", shop_a.token()).status_code == 404
    start = api.call("POST", f"imports/{theirs.pk}/start", token=shop_a.token())
    assert start.status_code == 404
    theirs.refresh_from_db()
    assert (theirs.status, theirs.dry_run) == (ImportJob.Status.PLANNED, True)


def test_a_zip_over_the_body_limit_needs_a_writing_token(
    api: Api, shop_a: Shop, tmp_path, settings
) -> None:
    settings.REQUEST_MAX_BYTES = 1000
    data = catalog_zip(tmp_path)
    refused = send(api, shop_a.token(CATALOG_READ), data)
    assert refused.status_code == 413 and error_of(refused)["code"] == "too_large"
    assert send(api, shop_a.token(), data).status_code == 201
