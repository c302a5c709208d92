"""Whole-catalog imports: a folder or ZIP of files, described by a manifest, becomes products.

The manifest is ``catalog.csv`` or ``catalog.json`` at the top of the folder
(``manifest.csv`` / ``manifest.json`` are accepted too). CSV: one product per
row, UTF-8, a header row with these column names; JSON: a list of objects with
the same keys (or ``{"products": [...]}``), lists may be real JSON lists.

=================  ========================================================
title              required
kind               ebook, music, video or bundle (required)
pricing            fixed, pwyw (pay what you want) or free; default fixed
price              the price (fixed) or the minimum (pwyw), in the currency's
                   usual units: ``9.99`` (digits, one ``.`` or ``,`` for
                   decimals, no thousands separator; see ``catalog.money``)
suggested_price    pwyw only: the amount pre-filled for buyers
currency           ISO code; default the seller's
files              the files buyers get, ``;``-separated paths relative to
                   the manifest, in order (album tracks: first to last)
previews           public samples, same form
cover              an image (JPEG, PNG or WebP)
tags               ``;``- or ``,``-separated
description        Markdown
release_date       ``YYYY-MM-DD``
slug               the product's address; default made from the title
status             draft (default), published or unlisted; publishing needs
                   a verified email, otherwise the product stays a draft
=================  ========================================================

A product is keyed by seller and slug: importing the same catalog again
updates those products in place (a file whose SHA-256 the product already
has is not added twice) and never duplicates them.

Without a manifest, every audio file with an ``album`` tag becomes part of an
album draft: title from the tag, tracks ordered by track number, cover from
embedded art, pay what you want from zero until the seller sets a price.

`plan_catalog` reads and inspects everything and writes nothing; `apply_plan`
then writes each product in its own transaction, through the same services as
the product form. Both read through a `CatalogSource`: a folder, or a ZIP read
member by member (`ZipSource`, after `zip_check` judged its central directory),
so an archive is never unpacked as a whole. An uploaded ZIP is checked and
stored by the web request (`import_job_upload`); the background tasks defined
here plan it (`plan_catalog_import`, progress on the ImportJob) and import it
(`run_catalog_import`).
"""

from __future__ import annotations

import csv
import json
import logging
import os
import re
import shutil
import stat
import tempfile
import uuid
import zipfile
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path, PurePosixPath
from typing import Any

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext, pgettext_lazy
from django_tasks import task

from catalog.currencies import CURRENCY_CODES
from catalog.inspection import MediaRefused, inspect_path
from catalog.inspection.documents import check_zip
from catalog.media import sha256_and_size
from catalog.models import Asset, ImportJob, Product, Seller
from catalog.money import AmountError, parse_amount
from catalog.quotas import human_size, seller_quota
from catalog.services import CatalogError, assets, products
from catalog.services.assets import preview_name
from catalog.services.products import pricing_check, tags_normalize
from catalog.storage import private_storage

logger = logging.getLogger(__name__)

MANIFEST_NAMES = ("catalog.csv", "catalog.json", "manifest.csv", "manifest.json")
MAX_ROWS = 2000
MAX_MANIFEST_BYTES = 5 * 1024 * 1024
ZIP_MAX_BYTES = 4 * 1024**3  # an uploaded catalog; bigger ones go through the command
ZIP_MAX_UNPACKED_BYTES = 16 * 1024**3  # whatever the quota (the command has none)
# The whole archive may not unpack to more than this many times its own size
# (past a floor: a small catalog of text compresses well and harms nothing).
ZIP_MAX_RATIO = 100
ZIP_RATIO_FLOOR_BYTES = 64 * 1024**2
COVER_TYPES = ("image/jpeg", "image/png", "image/webp")
SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,78}[a-z0-9])?$")


class ImportRefused(Exception):
    """The whole catalog cannot be read (no such folder, a hostile ZIP, a broken manifest)."""


@dataclass
class PlannedFile:
    path: str  # relative to the catalog root, POSIX separators
    role: str
    kind: str = ""
    mime: str = ""


@dataclass
class PlannedRow:
    line: int
    title: str
    slug: str
    action: str = "create"  # create, update or skip
    values: dict[str, Any] = field(default_factory=dict)
    files: list[PlannedFile] = field(default_factory=list)
    cover: str = ""
    status: str = Product.Status.DRAFT
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    product_id: int | None = None
    # Filled by apply_plan: created, updated or failed, and why.
    outcome: str = ""
    error: str = ""

    @property
    def action_label(self) -> str:
        return str(_ROW_WORDS.get(self.action, self.action))

    @property
    def outcome_label(self) -> str:
        return str(_ROW_WORDS.get(self.outcome, self.outcome))


# What the import page's last column says about a row (the plan, then the result).
_ROW_WORDS = {
    "create": pgettext_lazy("import row", "create"),
    "update": pgettext_lazy("import row", "update"),
    "skip": pgettext_lazy("import row", "skipped"),
    "created": pgettext_lazy("import row", "created"),
    "updated": pgettext_lazy("import row", "updated"),
    "failed": pgettext_lazy("import row", "failed"),
    "skipped": pgettext_lazy("import row", "skipped"),
}


@dataclass
class Plan:
    mode: str  # manifest or folder
    rows: list[PlannedRow] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # about the catalog, not one row

    @property
    def importable(self) -> list[PlannedRow]:
        return [row for row in self.rows if row.action != "skip"]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Plan:
        rows = []
        for raw in data.get("rows", []):
            raw = dict(raw)
            raw["files"] = [PlannedFile(**f) for f in raw.get("files", [])]
            rows.append(PlannedRow(**raw))
        return cls(mode=data.get("mode", ""), rows=rows, problems=list(data.get("problems", [])))


# --- Reading a catalog ---------------------------------------------------------


def _split(value: object) -> list[str]:
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    return [part.strip() for part in str(value or "").split(";") if part.strip()]


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


def _read_manifest(source: CatalogSource, name: str) -> list[dict[str, Any]]:
    if source.size(name) > MAX_MANIFEST_BYTES:
        raise ImportRefused(
            gettext("%(name)s is larger than %(value)s MB.")
            % {"name": name, "value": MAX_MANIFEST_BYTES // 1024**2}
        )
    with source.local(name) as path:
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            raise ImportRefused(
                gettext("%(name)s is not UTF-8 text: save it as UTF-8.") % {"name": path.name}
            ) from None
    if path.suffix == ".json":
        try:
            # Numbers stay the text they were written as: a price is then read by
            # parse_amount like a typed one (9.99 exact, 1e999999 refused, not inf),
            # and a 10,000-digit integer is never converted.
            data = json.loads(text, parse_int=str, parse_float=str, parse_constant=str)
        except json.JSONDecodeError as exc:
            raise ImportRefused(
                gettext("%(name)s is not valid JSON (line %(lineno)s: %(msg)s).")
                % {"name": path.name, "lineno": exc.lineno, "msg": exc.msg}
            ) from None
        if isinstance(data, dict):
            data = data.get("products")
        if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
            raise ImportRefused(
                gettext("%(name)s must hold a list of products (JSON objects).")
                % {"name": path.name}
            )
        rows = data
    else:
        try:
            reader = csv.DictReader(text.splitlines())
            rows = [
                {(k or "").strip().lower().replace(" ", "_"): v for k, v in row.items()}
                for row in reader
            ]
        except csv.Error as exc:
            raise ImportRefused(
                gettext("%(name)s is not readable CSV (%(exc)s).") % {"name": path.name, "exc": exc}
            ) from None
        if reader.fieldnames is None or "title" not in [
            (name or "").strip().lower() for name in reader.fieldnames
        ]:
            raise ImportRefused(
                gettext("%(name)s needs a header row with at least a “title” column.")
                % {"name": path.name}
            )
    if len(rows) > MAX_ROWS:
        raise ImportRefused(
            gettext("%(name)s lists %(len)s products; the limit is %(MAX_ROWS)s.")
            % {"name": path.name, "len": format(len(rows), ","), "MAX_ROWS": format(MAX_ROWS, ",")}
        )
    return rows


def _relative(relative: str) -> str | None:
    """`relative` as a clean POSIX path inside the catalog, or None when it would leave it."""
    pure = PurePosixPath(relative.replace("\\", "/"))
    if pure.is_absolute() or ".." in pure.parts or re.match(r"^[A-Za-z]:", relative):
        return None
    return pure.as_posix()


def _inspect(source: CatalogSource, relative: str) -> tuple[Any, str]:
    """(inspection, problem): exactly one is set."""
    name = _relative(relative)
    if name is None:
        return None, f"“{relative}” points outside the catalog folder."
    if not source.is_file(name):
        return None, f"“{relative}” is missing."
    try:
        with source.local(name) as path:
            return inspect_path(path, claimed_name=PurePosixPath(name).name), ""
    except MediaRefused as exc:
        return None, f"“{relative}” is refused: {exc}"


def _plan_manifest_row(
    seller: Seller, source: CatalogSource, line: int, raw: dict[str, Any], seen: set[str]
) -> PlannedRow:
    title = _text(raw.get("title"))
    wanted_slug = _text(raw.get("slug")).lower()
    slug = wanted_slug or slugify(title)[:80].strip("-")
    row = PlannedRow(line=line, title=title, slug=slug)
    problems = row.problems
    if not title:
        problems.append("The title is empty.")
    if wanted_slug and not SLUG_RE.match(wanted_slug):
        problems.append(f"The slug “{wanted_slug}” must be lower-case letters, digits, hyphens.")
    elif not slug:
        problems.append("No slug could be made from the title: give one.")
    elif slug in seen:
        problems.append(f"Another row already uses the slug “{slug}”.")
    seen.add(slug)

    kind = _text(raw.get("kind")).lower()
    if kind not in Product.Kind.values:
        problems.append(
            f"Unknown kind “{kind}”: use one of {', '.join(Product.Kind.values)}."
            if kind
            else f"The kind is empty: use one of {', '.join(Product.Kind.values)}."
        )
    currency = (_text(raw.get("currency")) or seller.currency).upper()
    if currency not in CURRENCY_CODES:
        problems.append(f"Unknown currency “{currency}”.")
        currency = seller.currency
    pricing = (_text(raw.get("pricing") or raw.get("pricing_model")) or "fixed").lower()
    price, suggested = 0, None
    try:
        if pricing != Product.Pricing.FREE:
            price_text = _text(raw.get("price"))
            price = parse_amount(price_text, currency) if price_text else 0
            suggested_text = _text(raw.get("suggested_price"))
            suggested = parse_amount(suggested_text, currency) if suggested_text else None
        # The same pricing rules as the product form.
        price, suggested = pricing_check(pricing, price, suggested)
    except AmountError as exc:
        problems.append(f"Bad price: {exc}")
    except CatalogError as exc:
        problems.append(
            f"Unknown pricing “{pricing}”: use fixed, pwyw or free."
            if exc.field == "pricing"
            else exc.message
        )
    release: date | None = None
    release_text = _text(raw.get("release_date"))
    if release_text:
        try:
            release = date.fromisoformat(release_text)
        except ValueError:
            problems.append(f"Bad release date “{release_text}”: write it as YYYY-MM-DD.")
    try:
        tags = tags_normalize([t for part in _split(raw.get("tags")) for t in part.split(",")])
    except CatalogError as exc:
        problems.append(exc.message)
        tags = []
    status = (_text(raw.get("status")) or Product.Status.DRAFT).lower()
    if status not in (Product.Status.DRAFT, Product.Status.PUBLISHED, Product.Status.UNLISTED):
        problems.append(f"Unknown status “{status}”: use draft, published or unlisted.")
        status = Product.Status.DRAFT
    row.status = status
    row.values = {
        "title": title,
        "kind": kind,
        "pricing": pricing,
        "price": price,
        "suggested_price": suggested,
        "currency": currency,
        "description": _text(raw.get("description")),
        "release_date": release.isoformat() if release else None,
        "tags": tags,
    }

    deliverables = _split(raw.get("files"))
    if not deliverables:
        problems.append("No files listed: buyers would get nothing.")
    for role, paths in (
        (Asset.Role.DELIVERABLE, deliverables),
        (Asset.Role.PREVIEW, _split(raw.get("previews"))),
    ):
        for relative in paths:
            found, problem = _inspect(source, relative)
            if problem:
                problems.append(problem)
                continue
            if role == Asset.Role.PREVIEW:
                try:
                    preview_name(Asset(kind=found.kind, mime_type=found.mime))
                except CatalogError as exc:
                    problems.append(f"“{relative}”: {exc.message}")
                    continue
            row.files.append(PlannedFile(relative, role, found.kind, found.mime))
    cover = _text(raw.get("cover"))
    if cover:
        found, problem = _inspect(source, cover)
        if problem:
            problems.append(problem)
        elif found.mime not in COVER_TYPES:
            problems.append(f"The cover “{cover}” is {found.mime}; use JPEG, PNG or WebP.")
        else:
            row.cover = cover
    return row


def _plan_folder(source: CatalogSource, progress: PlanProgress | None) -> Plan:
    plan = Plan(mode="folder")
    albums: dict[str, list[tuple[int, str, Any]]] = {}
    names = [
        name
        for name in source.names()
        if not PurePosixPath(name).name.startswith(".")
        and "__MACOSX" not in PurePosixPath(name).parts
    ]
    for done, relative in enumerate(names, start=1):
        if progress is not None:
            progress(done - 1, len(names))
        found, problem = _inspect(source, relative)
        if problem:
            plan.problems.append(problem)
            continue
        album = str(found.tags.get("album") or "").strip()
        if found.kind != "audio":
            plan.problems.append(f"“{relative}” is not audio; without a manifest it is skipped.")
        elif not album:
            plan.problems.append(f"“{relative}” has no album tag; it is skipped.")
        else:
            number = found.tags.get("track_number")
            order = number if isinstance(number, int) else 10**6
            albums.setdefault(album, []).append((order, relative, found))
    seen: set[str] = set()
    for line, (album, tracks) in enumerate(sorted(albums.items()), start=1):
        tracks.sort(key=lambda t: (t[0], t[1]))
        first = tracks[0][2]
        slug = slugify(album)[:80].strip("-")
        row = PlannedRow(line=line, title=album[:200], slug=slug)
        if not slug or slug in seen:
            row.problems.append(f"No distinct address can be made from the album “{album}”.")
        seen.add(slug)
        genre = str(first.tags.get("genre") or "")
        artist = str(first.tags.get("album_artist") or first.tags.get("artist") or "")
        year = first.tags.get("year")
        row.values = {
            "title": album[:200],
            "kind": Product.Kind.MUSIC,
            "pricing": Product.Pricing.PWYW,
            "price": 0,
            "suggested_price": None,
            "currency": "",
            "description": f"By {artist}." if artist else "",
            "release_date": (
                f"{year:04d}-01-01" if isinstance(year, int) and 1000 <= year <= 9999 else None
            ),
            "tags": _safe_tags([genre]),
        }
        row.files = [
            PlannedFile(relative, Asset.Role.DELIVERABLE, found.kind, found.mime)
            for _, relative, found in tracks
        ]
        row.notes.append(f"{len(tracks)} track{'s' if len(tracks) != 1 else ''} from the tags.")
        plan.rows.append(row)
    if not albums and not plan.problems:
        plan.problems.append(
            "No manifest (catalog.csv or catalog.json) and no tagged audio files were found."
        )
    return plan


def _safe_tags(raw: list[str]) -> list[str]:
    try:
        return tags_normalize([t for t in raw if t])
    except CatalogError:
        return []


def find_manifest(source: CatalogSource) -> str | None:
    for name in MANIFEST_NAMES:
        if source.is_file(name):
            return name
    return None


PlanProgress = Callable[[int, int], None]  # (done, total): rows or files checked


def plan_catalog(
    *,
    seller: Seller,
    root: str | os.PathLike[str] | CatalogSource,
    progress: PlanProgress | None = None,
) -> Plan:
    """What importing the catalog in `root` would do, row by row, with every problem.

    Reads and inspects; writes nothing. Raises ImportRefused when the catalog
    as a whole cannot be read. `progress(done, total)` is called as rows (or,
    without a manifest, files) are checked.
    """
    source = as_source(root)
    manifest = find_manifest(source)
    if manifest is None:
        plan = _plan_folder(source, progress)
    else:
        plan = Plan(mode="manifest")
        seen: set[str] = set()
        raws = _read_manifest(source, manifest)
        first = 2 if manifest.endswith(".csv") else 1
        for line, raw in enumerate(raws, start=first):
            if progress is not None:
                progress(line - first, len(raws))
            plan.rows.append(_plan_manifest_row(seller, source, line, raw, seen))
        if not plan.rows:
            plan.problems.append(f"{manifest} lists no products.")
    existing = dict(
        Product.objects.filter(seller=seller, slug__in=[r.slug for r in plan.rows]).values_list(
            "slug", "pk"
        )
    )
    for row in plan.rows:
        if row.values.get("currency") == "":
            row.values["currency"] = seller.currency
        row.product_id = existing.get(row.slug)
        if row.problems:
            row.action = "skip"
        else:
            row.action = "update" if row.product_id else "create"
        if row.status != Product.Status.DRAFT and not seller.is_verified:
            row.notes.append("Stays a draft until you confirm your email address.")
    return plan


# --- Writing -------------------------------------------------------------------


Progress = Callable[[int, PlannedRow], None]


def apply_plan(
    *,
    seller: Seller,
    root: str | os.PathLike[str] | CatalogSource,
    plan: Plan,
    progress: Progress | None = None,
) -> Plan:
    """Create or update every importable row, each in its own transaction.

    A row that fails leaves nothing behind (its rows roll back, the files it
    stored are deleted) and the next rows still import. `progress(done, row)`
    is called after each row. Returns the plan with each row's outcome.
    """
    source = as_source(root)
    for done, row in enumerate(plan.rows, start=1):
        if row.action == "skip":
            row.outcome = "skipped"
        else:
            try:
                product, created = _apply_row(seller, source, row)
            except CatalogError as exc:
                row.outcome, row.error = "failed", exc.message
            except (MediaRefused, OSError) as exc:
                row.outcome, row.error = "failed", str(exc) or "A file could not be read."
            except Exception:
                # One broken row must not stop the catalog; what it wrote is gone.
                logger.exception("import of row %s (%s) failed", row.line, row.slug)
                row.outcome = "failed"
                row.error = "An unexpected error stopped this row; nothing of it was kept."
            else:
                row.outcome = "created" if created else "updated"
                row.product_id = product.pk
        if progress is not None:
            progress(done, row)
    return plan


def _apply_row(seller: Seller, source: CatalogSource, row: PlannedRow) -> tuple[Product, bool]:
    stored: list[tuple[Any, str]] = []  # (storage, name) written for this row
    try:
        with transaction.atomic():
            return _write_row(seller, source, row, stored)
    except BaseException:
        for storage, name in stored:
            storage.delete(name)
        raise


def _write_row(
    seller: Seller, source: CatalogSource, row: PlannedRow, stored: list[tuple[Any, str]]
) -> tuple[Product, bool]:
    values = dict(row.values)
    values["release_date"] = (
        date.fromisoformat(values["release_date"]) if values.get("release_date") else None
    )
    existing = Product.objects.filter(seller=seller, slug=row.slug).first()
    with _opened(source, row.cover) as cover:
        if existing is None:
            product = products.product_create(
                seller=seller, slug=row.slug, status=Product.Status.DRAFT, cover=cover, **values
            )
        else:
            cover_before = existing.cover.name
            product = products.product_update(
                product=existing, slug=row.slug, status=existing.status, cover=cover, **values
            )
            if product.cover.name == cover_before:
                cover = None
    if product.cover and (existing is None or cover is not None):
        stored.append((product.cover.storage, product.cover.name or ""))
    known = {(a.role, a.sha256) for a in product.assets.all()}
    for planned in row.files:
        name = _relative(planned.path)
        if name is None or not source.is_file(name):
            raise CatalogError(gettext("“%(path)s” is missing.") % {"path": planned.path})
        with source.local(name) as path, path.open("rb") as handle:
            digest, _ = sha256_and_size(handle)
            if (planned.role, digest) in known:
                continue  # already there from an earlier import
            handle.seek(0)
            cover_before = product.cover.name
            asset = assets.asset_upload(
                product=product,
                role=planned.role,
                file=File(handle, name=str(path)),
                original_filename=PurePosixPath(name).name,
            )
        known.add((planned.role, asset.sha256))
        stored.append((asset.stored.storage, asset.stored.name or ""))
        product.refresh_from_db(fields=["cover"])
        if product.cover.name and product.cover.name != cover_before:
            stored.append((product.cover.storage, product.cover.name or ""))
    # A manifest only ever raises the status: re-importing must not unpublish what
    # the seller published by hand. Publishing follows the product form's rules.
    wanted = row.status
    if wanted != Product.Status.DRAFT and wanted != product.status and seller.is_verified:
        product = products.product_update(product=product, slug=row.slug, status=wanted, **values)
    return product, existing is None


@contextmanager
def _opened(source: CatalogSource, relative: str) -> Iterator[File | None]:
    name = _relative(relative) if relative else None
    if name is None:
        yield None
        return
    with source.local(name) as path, path.open("rb") as handle:
        yield File(handle, name=PurePosixPath(name).name)


# --- Where the files are read from ------------------------------------------------


class CatalogSource(ABC):
    """A catalog's files by their relative POSIX names, each readable as a local path."""

    @abstractmethod
    def names(self) -> list[str]:
        """Every regular file, sorted."""

    @abstractmethod
    def is_file(self, name: str) -> bool: ...

    @abstractmethod
    def size(self, name: str) -> int: ...

    @abstractmethod
    def local(self, name: str) -> AbstractContextManager[Path]:
        """A path on this machine holding the file's bytes, for as long as the block runs."""


class FolderSource(CatalogSource):
    def __init__(self, root: Path) -> None:
        if not root.is_dir():
            raise ImportRefused(gettext("%(root)s is not a folder.") % {"root": root})
        self.root = root.resolve()

    def _path(self, name: str) -> Path | None:
        candidate = (self.root / name).resolve()
        return candidate if candidate.is_relative_to(self.root) else None

    def names(self) -> list[str]:
        return sorted(
            p.relative_to(self.root).as_posix() for p in self.root.rglob("*") if p.is_file()
        )

    def is_file(self, name: str) -> bool:
        path = self._path(name)
        return path is not None and path.is_file()

    def size(self, name: str) -> int:
        path = self._path(name)
        return path.stat().st_size if path is not None else 0

    @contextmanager
    def local(self, name: str) -> Iterator[Path]:
        path = self._path(name)
        if path is None:
            raise ImportRefused(
                gettext("“%(name)s” points outside the catalog folder.") % {"name": name}
            )
        yield path


class ZipSource(CatalogSource):
    """A ZIP read member by member: each file is copied to a temporary file only while it
    is inspected or stored, so the archive is never unpacked as a whole. A member is
    never copied past the size the central directory declared (checked, in total,
    before anything was read)."""

    def __init__(self, archive: zipfile.ZipFile, prefix: str) -> None:
        self.archive = archive
        self.members = {
            info.filename[len(prefix) :]: info
            for info in archive.infolist()
            if not info.is_dir() and info.filename.startswith(prefix)
        }

    def names(self) -> list[str]:
        return sorted(self.members)

    def is_file(self, name: str) -> bool:
        return name in self.members

    def size(self, name: str) -> int:
        return self.members[name].file_size

    @contextmanager
    def local(self, name: str) -> Iterator[Path]:
        info = self.members[name]
        suffix = PurePosixPath(name).suffix[:16]
        with tempfile.NamedTemporaryFile(
            prefix="echoppe-import-", suffix=suffix, dir=settings.FILE_UPLOAD_TEMP_DIR
        ) as copy:
            try:
                with self.archive.open(info) as member:
                    left = info.file_size
                    while chunk := member.read(min(1024 * 1024, left + 1)):
                        left -= len(chunk)
                        if left < 0:
                            raise ImportRefused(
                                gettext("The ZIP entry “%(filename)s” is larger than it says.")
                                % {"filename": info.filename[:120]}
                            )
                        copy.write(chunk)
            except (zipfile.BadZipFile, OSError, EOFError, RuntimeError) as exc:
                raise ImportRefused(
                    gettext("The ZIP entry “%(filename)s” cannot be read (%(exc)s).")
                    % {"filename": info.filename[:120], "exc": exc}
                ) from None
            copy.flush()
            yield Path(copy.name)


def as_source(root: str | os.PathLike[str] | CatalogSource) -> CatalogSource:
    return root if isinstance(root, CatalogSource) else FolderSource(Path(root))


# --- ZIP archives --------------------------------------------------------------


def _unsafe_member(info: zipfile.ZipInfo) -> str:
    """Why a member must not be read, or ''. Member names are never trusted."""
    name = info.filename
    mode = info.external_attr >> 16
    if "\x00" in name:
        return "has a NUL character in its name"
    if stat.S_ISLNK(mode):
        return "is a symbolic link"
    pure = PurePosixPath(name.replace("\\", "/"))
    if pure.is_absolute() or re.match(r"^[A-Za-z]:", name) or ".." in pure.parts:
        return "would be written outside the catalog folder"
    return ""


def zip_check(
    archive: zipfile.ZipFile, *, archive_size: int, max_unpacked: int | None = None
) -> None:
    """Refuse a catalog ZIP from its central directory alone, before any member is read.

    The same checks as EPUBs get (duplicate names, a member packed past the
    ratio, overlapping members), then the catalog's own: at most
    ``IMPORT_ZIP_MAX_MEMBERS`` members, no link or escaping name, a declared
    total within `max_unpacked` (the seller's quota left) and within
    ``ZIP_MAX_RATIO`` times the archive itself — many members each just under
    the per-member ratio floor still add up to a bomb.
    """
    entries = archive.infolist()
    most: int = settings.IMPORT_ZIP_MAX_MEMBERS
    if len(entries) > most:
        raise ImportRefused(
            gettext(
                "This ZIP holds %(len)s files and folders; a catalog may "
                "hold %(most)s. Split it into several imports."
            )
            % {"len": format(len(entries), ","), "most": format(most, ",")}
        )
    try:
        check_zip(archive, archive_size, "ZIP archive", fold_names=True)
    except MediaRefused as exc:
        raise ImportRefused(str(exc)) from None
    for info in entries:
        reason = _unsafe_member(info)
        if reason:
            raise ImportRefused(
                gettext("The ZIP entry “%(filename)s” %(reason)s: refused.")
                % {"filename": info.filename[:120], "reason": reason}
            )
    total = sum(info.file_size for info in entries)
    if total > ZIP_MAX_UNPACKED_BYTES:
        raise ImportRefused(
            gettext("This ZIP would unpack to more than %(value)s GB.")
            % {"value": ZIP_MAX_UNPACKED_BYTES // 1024**3}
        )
    if max_unpacked is not None and total > max_unpacked:
        raise ImportRefused(
            gettext(
                "This ZIP holds %(human_size)s of files, more than your "
                "whole storage quota (%(human_size2)s). Import it in parts."
            )
            % {"human_size": human_size(total), "human_size2": human_size(max_unpacked)}
        )
    if total > ZIP_RATIO_FLOOR_BYTES and total > ZIP_MAX_RATIO * max(archive_size, 1):
        raise ImportRefused(
            gettext("This ZIP is a zip bomb: %(human_size)s that would unpack to %(human_size2)s.")
            % {"human_size": human_size(archive_size), "human_size2": human_size(total)}
        )


def _catalog_prefix(archive: zipfile.ZipFile) -> str:
    """Where the catalog starts in the ZIP: zipping a folder adds one level."""
    names = [i.filename for i in archive.infolist() if not i.filename.startswith("__MACOSX/")]
    if any(name in MANIFEST_NAMES for name in names):
        return ""
    tops = {name.split("/", 1)[0] for name in names}
    if len(tops) == 1 and all("/" in name for name in names):
        return f"{tops.pop()}/"
    return ""


@contextmanager
def opened_catalog(
    path: str | os.PathLike[str], *, max_unpacked: int | None = None
) -> Iterator[CatalogSource]:
    """The catalog at `path`: a folder, or a ZIP checked by `zip_check` and read member
    by member (`ZipSource`)."""
    source = Path(path)
    if source.is_dir():
        yield FolderSource(source)
        return
    if not source.is_file():
        raise ImportRefused(gettext("%(path)s does not exist.") % {"path": path})
    if not zipfile.is_zipfile(source):
        raise ImportRefused(
            gettext("%(path)s is neither a folder nor a ZIP archive.") % {"path": path}
        )
    size = source.stat().st_size
    if size > ZIP_MAX_BYTES:
        raise ImportRefused(
            gettext("The ZIP is larger than %(value)s GB.") % {"value": ZIP_MAX_BYTES // 1024**3}
        )
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as exc:
        raise ImportRefused(
            gettext("This is not a readable ZIP archive (%(exc)s).") % {"exc": exc}
        ) from None
    with archive:
        zip_check(archive, archive_size=size, max_unpacked=max_unpacked)
        yield ZipSource(archive, _catalog_prefix(archive))


# --- Jobs ------------------------------------------------------------------------


def import_job_run(
    *,
    job: ImportJob,
    root: str | os.PathLike[str] | CatalogSource,
    plan: Plan | None = None,
    on_progress: Progress | None = None,
) -> ImportJob:
    """Plan and apply the catalog in `root` for `job`, recording progress on the job row.

    The plan is made again rather than trusted from the dry run: files or
    products may have changed in between.
    """
    seller = job.seller
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.RUNNING, started_at=timezone.now()
    )
    try:
        plan = plan or plan_catalog(seller=seller, root=root)
    except ImportRefused as exc:
        return _job_finish(job, status=ImportJob.Status.FAILED, error=str(exc))
    counts = {"created": 0, "updated": 0, "failed": 0}
    ImportJob.objects.filter(pk=job.pk).update(total_rows=len(plan.rows), processed_rows=0)

    def progress(done: int, row: PlannedRow) -> None:
        if row.outcome in counts:
            counts[row.outcome] += 1
        ImportJob.objects.filter(pk=job.pk).update(
            processed_rows=done,
            created_count=counts["created"],
            updated_count=counts["updated"],
            failed_count=counts["failed"],
        )
        if on_progress is not None:
            on_progress(done, row)

    apply_plan(seller=seller, root=root, plan=plan, progress=progress)
    job.report = plan.to_dict()
    return _job_finish(job, status=ImportJob.Status.DONE)


def _job_finish(job: ImportJob, *, status: str, error: str = "") -> ImportJob:
    job.refresh_from_db(
        fields=["total_rows", "processed_rows", "created_count", "updated_count", "failed_count"]
    )
    job.status, job.error, job.finished_at = status, error[:500], timezone.now()
    job.save(update_fields=["status", "error", "finished_at", "report"])
    return job


# --- Uploaded catalogs (the seller's page) -----------------------------------------


def import_job_upload(*, seller: Seller, file: File, filename: str) -> ImportJob:
    """Check an uploaded catalog ZIP's central directory, keep it in the private storage
    and queue its plan (a dry run) for the worker; nothing else is read here.

    Checking 1,000 files takes minutes (each one is inspected), far past a web
    request's timeout, so `plan_catalog_import` does it with progress on the job.
    """
    size = getattr(file, "size", None) or 0
    if size > ZIP_MAX_BYTES:
        raise ImportRefused(
            gettext(
                "Catalog ZIPs up to %(value)s GB are accepted here; import "
                "bigger ones with the command line."
            )
            % {"value": ZIP_MAX_BYTES // 1024**3}
        )
    _zip_precheck(file, size=size, max_unpacked=import_max_bytes(seller))
    file.seek(0)
    storage = private_storage()
    name = storage.save(f"imports/{uuid.uuid4().hex}.zip", file)
    try:
        with transaction.atomic():
            job = ImportJob.objects.create(
                seller=seller,
                source=name,
                source_name=filename[:255],
                dry_run=True,
                status=ImportJob.Status.PLANNING,
            )
            job_id = job.pk
            transaction.on_commit(lambda: plan_catalog_import.enqueue(job_id=job_id))
    except BaseException:
        storage.delete(name)
        raise
    return job


def import_max_bytes(seller: Seller) -> int:
    """The most a catalog ZIP may unpack to: the seller's whole storage quota. Not only
    what is left, since re-importing a catalog skips the files already stored; each file
    the import stores is then checked against what is left (`asset_upload`)."""
    return seller_quota(seller).stored_bytes


def _zip_precheck(file: File, *, size: int, max_unpacked: int) -> None:
    """The checks `opened_catalog` makes, on the uploaded file, before it is kept."""
    try:
        file.seek(0)
        if not zipfile.is_zipfile(file):
            raise ImportRefused(
                gettext("%(name)s is neither a folder nor a ZIP archive.") % {"name": file.name}
            )
        file.seek(0)
        with zipfile.ZipFile(file) as archive:
            zip_check(archive, archive_size=size, max_unpacked=max_unpacked)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as exc:
        raise ImportRefused(
            gettext("This is not a readable ZIP archive (%(exc)s).") % {"exc": exc}
        ) from None


def import_job_plan_stored(*, job_id: int) -> None:
    """Plan the stored ZIP of a job (the worker's part of a dry run), with progress."""
    job = ImportJob.objects.select_related("seller__user").get(pk=job_id)
    if job.status != ImportJob.Status.PLANNING:
        return  # a task delivered twice
    ImportJob.objects.filter(pk=job.pk).update(started_at=timezone.now())

    def progress(done: int, total: int) -> None:
        ImportJob.objects.filter(pk=job.pk).update(processed_rows=done, total_rows=total)

    try:
        with (
            _local_copy(job.source) as path,
            opened_catalog(path, max_unpacked=import_max_bytes(job.seller)) as source,
        ):
            plan = plan_catalog(seller=job.seller, root=source, progress=progress)
    except ImportRefused as exc:
        private_storage().delete(job.source)
        _job_finish(job, status=ImportJob.Status.FAILED, error=str(exc))
        return
    except Exception:
        logger.exception("planning catalog import %s failed", job_id)
        private_storage().delete(job.source)
        _job_finish(
            job, status=ImportJob.Status.FAILED, error="Checking the catalog stopped on an error."
        )
        return
    # Only a job still being planned becomes planned (a retried task finds it done).
    ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.PLANNING).update(
        status=ImportJob.Status.PLANNED,
        report=plan.to_dict(),
        total_rows=len(plan.rows),
        processed_rows=0,
        finished_at=None,
    )


@task()
def plan_catalog_import(*, job_id: int) -> None:
    """Check every file of an uploaded catalog (a dry run); progress goes on the job row."""
    import_job_plan_stored(job_id=job_id)


def import_job_start(*, job: ImportJob) -> ImportJob:
    """Queue a planned job; the task does the work (inline with the immediate backend)."""
    # Until then the job is a dry run: a plan that wrote nothing.
    claimed = ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.PLANNED).update(
        status=ImportJob.Status.QUEUED, dry_run=False
    )
    if not claimed:
        raise ImportRefused(
            "This catalog is still being checked."
            if job.status == ImportJob.Status.PLANNING
            else "This import has already started."
        )
    job_id = job.pk
    transaction.on_commit(lambda: run_catalog_import.enqueue(job_id=job_id))
    job.refresh_from_db()
    return job


def import_job_start_from_storage(*, job_id: int) -> None:
    job = ImportJob.objects.select_related("seller__user").get(pk=job_id)
    if job.status not in (ImportJob.Status.QUEUED, ImportJob.Status.PLANNED):
        return  # a task delivered twice
    try:
        # Each file the import stores is checked against the quota left (files
        # already there are skipped, so re-importing a catalog needs no room).
        with (
            _local_copy(job.source) as path,
            opened_catalog(path, max_unpacked=import_max_bytes(job.seller)) as source,
        ):
            import_job_run(job=job, root=source)
    except ImportRefused as exc:
        _job_finish(job, status=ImportJob.Status.FAILED, error=str(exc))
    except Exception:
        logger.exception("catalog import %s failed", job_id)
        _job_finish(
            job, status=ImportJob.Status.FAILED, error="The import stopped on an unexpected error."
        )
    finally:
        private_storage().delete(job.source)


@task()
def run_catalog_import(*, job_id: int) -> None:
    """Import the catalog ZIP an ImportJob points at; progress goes on the job row."""
    import_job_start_from_storage(job_id=job_id)


@contextmanager
def _local_copy(name: str) -> Iterator[str]:
    """A path to the stored file `name`: its own on a local disk, else a temporary copy."""
    storage = private_storage()
    try:
        local: str | None = storage.path(name)
    except NotImplementedError:  # a bucket
        local = None
    if local is not None:
        yield local
        return
    with tempfile.NamedTemporaryFile(prefix="echoppe-import-", suffix=".zip") as copy:
        with storage.open(name, "rb") as source:
            shutil.copyfileobj(source, copy, 1024 * 1024)
        copy.flush()
        yield copy.name
