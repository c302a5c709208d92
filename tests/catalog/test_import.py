"""Whole-catalog imports: the plan, applying it, re-imports, failures, tagged albums, ZIPs."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest

from catalog import imports
from catalog.imports import ImportRefused, apply_plan, opened_catalog, plan_catalog
from catalog.models import Asset, Product, Seller
from catalog.services import CatalogError, assets
from tests.factories import DEMO_MEDIA, SellerFactory

pytestmark = pytest.mark.django_db

HEADER = "title,kind,pricing,price,suggested_price,files,previews,cover,tags,description,release_date,slug,status\n"


def make_catalog(root: Path, rows: str) -> Path:
    root.mkdir(exist_ok=True)
    for name in ("ebook-field-notes.pdf", "ebook-field-notes.epub", "album-01-departure.mp3"):
        shutil.copy(DEMO_MEDIA / name, root / name)
    (root / "catalog.csv").write_text(HEADER + rows, encoding="utf-8")
    return root


BOOK = (
    "Field Notes,ebook,fixed,9.50,,ebook-field-notes.pdf;ebook-field-notes.epub,,,"
    "nature;notes,A *book*.,2026-03-01,field-notes,published\n"
)
SINGLE = "Departure,music,pwyw,2,5,album-01-departure.mp3,album-01-departure.mp3,,,,,,\n"


def stored_names() -> set[str]:
    from tests.settings import MEDIA_ROOT

    return {str(p) for p in Path(MEDIA_ROOT).rglob("*") if p.is_file()}


def test_a_dry_run_plans_every_row_and_writes_nothing(seller, tmp_path):
    root = make_catalog(tmp_path / "cat", BOOK + SINGLE)
    before = stored_names()
    plan = plan_catalog(seller=seller, root=root)
    assert [(r.slug, r.action, r.problems) for r in plan.rows] == [
        ("field-notes", "create", []),
        ("departure", "create", []),
    ]
    book = plan.rows[0]
    assert book.values["price"] == 950 and book.values["tags"] == ["nature", "notes"]
    assert [(f.path, f.role, f.mime) for f in book.files] == [
        ("ebook-field-notes.pdf", "deliverable", "application/pdf"),
        ("ebook-field-notes.epub", "deliverable", "application/epub+zip"),
    ]
    assert Product.objects.count() == 0 and Asset.objects.count() == 0
    assert stored_names() == before


def test_every_problem_is_reported_before_anything_is_written(seller, tmp_path):
    rows = (
        "Lost,ebook,fixed,5,,nowhere.pdf,,,,,,,\n"
        "Odd,podcast,fixed,5,,ebook-field-notes.pdf,,,,,,,\n"
        "Cheap,ebook,fixed,abc,,ebook-field-notes.pdf,,,,,,,\n"
        "Zero,ebook,fixed,0,,ebook-field-notes.pdf,,,,,,,\n"
        "Late,ebook,fixed,5,,ebook-field-notes.pdf,,,,,31/12/2026,,\n"
        "Escape,ebook,fixed,5,,../secret.pdf,,,,,,,\n"
    )
    root = make_catalog(tmp_path / "cat", rows)
    (root / "fake.pdf").write_bytes(b"%PDF-1.4\n1 0 obj broken")
    (root / "catalog.csv").write_text(
        HEADER + rows + "Fake,ebook,fixed,5,,fake.pdf,,,,,,,\n", encoding="utf-8"
    )
    plan = plan_catalog(seller=seller, root=root)
    problems = {r.title: " ".join(r.problems) for r in plan.rows}
    assert "“nowhere.pdf” is missing" in problems["Lost"]
    assert "Unknown kind “podcast”" in problems["Odd"]
    assert "Bad price" in problems["Cheap"]
    assert "more than zero" in problems["Zero"]
    assert "Bad release date “31/12/2026”" in problems["Late"]
    assert "outside the catalog folder" in problems["Escape"]
    assert "“fake.pdf” is refused" in problems["Fake"]
    assert all(r.action == "skip" for r in plan.rows)
    assert Product.objects.count() == 0


def test_a_row_with_a_missing_file_is_reported_and_the_others_import(seller, tmp_path):
    root = make_catalog(tmp_path / "cat", "Lost,ebook,fixed,5,,nowhere.pdf,,,,,,,\n" + BOOK)
    plan = apply_plan(seller=seller, root=root, plan=plan_catalog(seller=seller, root=root))
    assert [(r.title, r.outcome) for r in plan.rows] == [
        ("Lost", "skipped"),
        ("Field Notes", "created"),
    ]
    product = Product.objects.get(seller=seller)
    assert product.slug == "field-notes" and product.price == 950
    assert [a.original_filename for a in product.assets.order_by("position")] == [
        "ebook-field-notes.pdf",
        "ebook-field-notes.epub",
    ]


def test_a_verified_seller_may_publish_from_the_manifest(seller, tmp_path):
    root = make_catalog(tmp_path / "cat", BOOK)
    apply_plan(seller=seller, root=root, plan=plan_catalog(seller=seller, root=root))
    assert Product.objects.get(slug="field-notes").status == Product.Status.PUBLISHED


def test_an_unverified_seller_gets_drafts_whatever_the_manifest_says(tmp_path):
    seller = SellerFactory(email_verified_at=None)
    root = make_catalog(tmp_path / "cat", BOOK)
    plan = plan_catalog(seller=seller, root=root)
    assert "confirm your email" in " ".join(plan.rows[0].notes)
    apply_plan(seller=seller, root=root, plan=plan)
    assert Product.objects.get(slug="field-notes").status == Product.Status.DRAFT


def test_importing_the_same_catalog_again_updates_in_place(seller, tmp_path):
    root = make_catalog(tmp_path / "cat", BOOK + SINGLE)
    apply_plan(seller=seller, root=root, plan=plan_catalog(seller=seller, root=root))
    first = dict(Product.objects.values_list("slug", "pk"))
    (root / "catalog.csv").write_text(
        HEADER
        + BOOK.replace("9.50", "12").replace("Field Notes", "Field Notes (2nd ed.)")
        + SINGLE,
        encoding="utf-8",
    )
    plan = plan_catalog(seller=seller, root=root)
    assert [r.action for r in plan.rows] == ["update", "update"]
    apply_plan(seller=seller, root=root, plan=plan)
    assert dict(Product.objects.values_list("slug", "pk")) == first
    book = Product.objects.get(slug="field-notes")
    assert (book.title, book.price) == ("Field Notes (2nd ed.)", 1200)
    assert book.assets.count() == 2  # the same files are not added twice
    assert Product.objects.get(slug="departure").assets.count() == 2  # a track and its preview


def test_a_failure_halfway_leaves_no_half_created_product(seller, tmp_path, monkeypatch):
    root = make_catalog(tmp_path / "cat", BOOK + SINGLE)
    plan = plan_catalog(seller=seller, root=root)
    before = stored_names()
    real = assets.asset_upload
    calls = []

    def second_file_breaks(**kwargs):
        calls.append(kwargs["original_filename"])
        if kwargs["original_filename"] == "ebook-field-notes.epub":
            raise CatalogError("The disk is full.")
        return real(**kwargs)

    monkeypatch.setattr(assets, "asset_upload", second_file_breaks)
    apply_plan(seller=seller, root=root, plan=plan)
    assert [(r.slug, r.outcome, r.error) for r in plan.rows] == [
        ("field-notes", "failed", "The disk is full."),
        ("departure", "created", ""),
    ]
    assert calls[:2] == ["ebook-field-notes.pdf", "ebook-field-notes.epub"]
    assert not Product.objects.filter(slug="field-notes").exists()
    assert not Asset.objects.filter(original_filename__startswith="ebook").exists()
    # The PDF stored before the failure is gone; only the second product's files remain.
    added = stored_names() - before
    departure = Product.objects.get(slug="departure")
    kept = {Path(a.stored.path).as_posix() for a in departure.assets.all()}
    cover_folder = Path(departure.cover.path).parent  # the art and its renditions
    assert {p for p in added if Path(p).parent != cover_folder} == kept
    assert all("/assets/" not in p or p in kept for p in added)


def test_an_unexpected_error_fails_only_its_row(seller, tmp_path, monkeypatch):
    root = make_catalog(tmp_path / "cat", BOOK + SINGLE)
    plan = plan_catalog(seller=seller, root=root)
    real = assets.asset_upload

    def crash_on_books(**kwargs):
        if kwargs["original_filename"].startswith("ebook"):
            raise RuntimeError("boom")
        return real(**kwargs)

    monkeypatch.setattr(assets, "asset_upload", crash_on_books)
    apply_plan(seller=seller, root=root, plan=plan)
    assert [(r.slug, r.outcome) for r in plan.rows] == [
        ("field-notes", "failed"),
        ("departure", "created"),
    ]
    assert "nothing of it was kept" in plan.rows[0].error
    assert list(Product.objects.values_list("slug", flat=True)) == ["departure"]


def test_a_folder_of_tagged_audio_becomes_album_drafts(seller: Seller, tmp_path):
    folder = tmp_path / "music"
    folder.mkdir()
    # Copied in the reverse order and renamed: the order must come from the tags.
    for index, source in enumerate(sorted(DEMO_MEDIA.glob("album-*.mp3"), reverse=True)):
        shutil.copy(source, folder / f"{chr(ord('a') + index)}.mp3")
    shutil.copy(DEMO_MEDIA / "single-morning-light.ogg", folder / "single.ogg")
    shutil.copy(DEMO_MEDIA / "ebook-recipes.pdf", folder / "recipes.pdf")
    plan = plan_catalog(seller=seller, root=folder)
    assert plan.mode == "folder"
    assert [(r.title, len(r.files)) for r in plan.rows] == [
        ("Morning Light", 1),
        ("Night Trains", 4),
    ]
    assert "“recipes.pdf” is not audio" in " ".join(plan.problems)
    apply_plan(seller=seller, root=folder, plan=plan)
    album = Product.objects.get(seller=seller, slug="night-trains")
    assert album.kind == Product.Kind.MUSIC and album.status == Product.Status.DRAFT
    titles = [a.metadata.get("tags", {}).get("title") for a in album.assets.order_by("position")]
    assert titles == ["Departure", "Tunnel", "The Long Curve", "Arrival"]
    assert album.cover  # the embedded art
    assert list(album.tags.values_list("slug", flat=True)) == ["ambient"]


def test_a_json_manifest_works_like_the_csv(seller, tmp_path):
    root = make_catalog(tmp_path / "cat", "")
    (root / "catalog.csv").unlink()
    (root / "catalog.json").write_text(
        json.dumps(
            {
                "products": [
                    {
                        "title": "Field Notes",
                        "kind": "ebook",
                        "pricing": "free",
                        "files": ["ebook-field-notes.pdf"],
                        "tags": ["nature"],
                    }
                ]
            }
        )
    )
    plan = plan_catalog(seller=seller, root=root)
    assert [(r.slug, r.action, r.values["pricing"]) for r in plan.rows] == [
        ("field-notes", "create", "free")
    ]


def test_a_broken_manifest_refuses_the_whole_catalog(seller, tmp_path):
    root = make_catalog(tmp_path / "cat", "")
    (root / "catalog.csv").unlink()
    (root / "catalog.json").write_text("{not json")
    with pytest.raises(ImportRefused, match="not valid JSON"):
        plan_catalog(seller=seller, root=root)


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


@pytest.mark.parametrize("name", ["../evil.txt", "/etc/evil.txt", "a/../../evil.txt", "C:/evil"])
def test_a_zip_entry_that_escapes_the_folder_is_refused(tmp_path, name):
    archive = _zip(tmp_path / "cat.zip", {"catalog.csv": HEADER.encode(), name: b"x"})
    with pytest.raises(ImportRefused, match="refused"), opened_catalog(archive):
        pass
    assert not (tmp_path / "evil.txt").exists()


def test_a_zip_symlink_is_refused(tmp_path):
    info = zipfile.ZipInfo("link")
    info.external_attr = (0o120777) << 16
    with zipfile.ZipFile(tmp_path / "cat.zip", "w") as archive:
        archive.writestr(info, "/etc/passwd")
    with pytest.raises(ImportRefused, match="symbolic link"), opened_catalog(tmp_path / "cat.zip"):
        pass


def test_a_zip_bomb_is_refused_before_unpacking(tmp_path, monkeypatch):
    monkeypatch.setattr(imports, "ZIP_MAX_UNPACKED_BYTES", 1000)
    archive = _zip(tmp_path / "cat.zip", {"big.bin": b"\0" * 5000})
    with pytest.raises(ImportRefused, match="unpack"), opened_catalog(archive):
        pass


def test_a_zipped_folder_is_read_from_its_top_folder(seller, tmp_path, settings):
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "tmp")
    (tmp_path / "tmp").mkdir()
    root = make_catalog(tmp_path / "cat", BOOK)
    archive = tmp_path / "cat.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for path in root.iterdir():
            out.write(path, f"my-catalog/{path.name}")
    with opened_catalog(archive) as source:
        plan = plan_catalog(seller=seller, root=source)
        assert [(r.slug, r.action) for r in plan.rows] == [("field-notes", "create")]
        apply_plan(seller=seller, root=source, plan=plan)
    assert [r.outcome for r in plan.rows] == ["created"]
    assert sorted(
        Product.objects.get(seller=seller).assets.values_list("original_filename", flat=True)
    ) == ["ebook-field-notes.epub", "ebook-field-notes.pdf"]
    assert list((tmp_path / "tmp").iterdir()) == []  # each member's copy is gone
