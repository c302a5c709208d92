"""The real-world corpus through the seller's upload form (the one without JavaScript).

`test_corpus.py` proves that `inspect_media` judges every file of `../shared/corpus`;
this proves the same files posted to `POST /sell/products/<id>/files/` end
either accepted (one Asset with the file's own size, hash and detected type) or
refused with a 400 naming the file and saying why: never a 500, a traceback, a
hang, or a half-written record (an Asset row or a stray stored file).

Each accepted upload is compared with `describe_path`, the function behind
`manage.py inspect_media`: it must accept the file too, with the kind and type
the Asset carries. The form may
refuse more (the name or Content-Type contradicting the content; a preview of
a type browsers do not show), never less.

Each test walks one shard of the corpus (every ``SHARDS``-th file) and
collects every problem, so a failure lists them all instead of stopping at
the first, and pytest-xdist spreads the shards over the cores.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from catalog.inspection import describe_path
from catalog.models import Asset, Product
from catalog.services.images import image_variant
from tests.factories import ProductFactory, SellerFactory

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO.parent / "shared" / "corpus"

pytestmark = [
    pytest.mark.skipif(
        not CORPUS.is_dir(),
        reason=f"the media corpus is not at {CORPUS} (CI puts it beside the checkout)",
    ),
    pytest.mark.slow,
]

SHARDS = 4

# The inspection child gets 10 s per file; a request must not take much longer.
SLOWEST_REQUEST_SECONDS = 30.0


PREVIEW_SAMPLE = 12


def _corpus_paths() -> list[Path]:
    return sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.name != "README.md")


def _stored_files() -> set[str]:
    """Every file in the private and public storages of the test media root."""
    root = Path(settings.MEDIA_ROOT)
    return {
        str(path.relative_to(root))
        for folder in ("private", "public")
        if (root / folder).is_dir()
        for path in (root / folder).rglob("*")
        if path.is_file()
    }


def _upload(client: Client, product: Product, path: Path, role: str) -> tuple[str, list[str]]:
    """Post one file; return the verdict ("accepted"/"refused") and what went wrong."""
    problems: list[str] = []
    before_ids = set(Asset.objects.filter(product=product).values_list("pk", flat=True))
    before_files = _stored_files()
    started = time.monotonic()
    try:
        # A savepoint, so that a failing request cannot poison the test's transaction
        # on PostgreSQL and hide the files after it.
        with transaction.atomic(), path.open("rb") as handle:
            response = client.post(
                reverse("catalog:sell_files", args=[product.pk]), {"role": role, "file": handle}
            )
    except Exception as error:  # the test client re-raises what the view raised: a 500
        return "crashed", [f"raised {type(error).__name__}: {error}"]
    elapsed = time.monotonic() - started
    if elapsed > SLOWEST_REQUEST_SECONDS:
        problems.append(f"took {elapsed:.1f} s")
    new_assets = list(Asset.objects.filter(product=product).exclude(pk__in=before_ids))
    new_files = _stored_files() - before_files
    body = response.content.decode("utf-8", "replace")
    if "Traceback" in body:
        problems.append("a traceback in the page")

    if response.status_code == 400:
        reasons = [
            str(error).removeprefix(f"{path.name}: ").strip()
            for error in response.context["form"].errors.get("file", [])
            if str(error).startswith(f"{path.name}: ")
        ]
        if not reasons or not all(reasons):
            problems.append(
                f"refused without a reason naming it: {response.context['form'].errors}"
            )
        if escape(path.name) not in body:
            problems.append("the refusal page does not show the file's name")
        if new_assets:
            problems.append(f"refused, yet {len(new_assets)} Asset(s) were created")
        if new_files:
            problems.append(f"refused, yet stored {sorted(new_files)}")
        return "refused", problems

    if response.status_code not in (200, 302):
        return "crashed", [f"status {response.status_code}"]
    if len(new_assets) != 1:
        return "accepted", [f"accepted with {len(new_assets)} new Assets instead of 1"]
    asset = new_assets[0]
    content = path.read_bytes()
    if (asset.size_bytes, asset.sha256) != (len(content), hashlib.sha256(content).hexdigest()):
        problems.append(f"size/hash {asset.size_bytes}/{asset.sha256[:12]} are not the file's")
    if asset.role != role or not asset.stored.name:
        problems.append(f"stored as {asset.role!r} at {asset.stored.name!r}")
    else:
        with asset.stored.open("rb") as stored:
            if stored.read() != content:
                problems.append("the stored bytes differ from the file")
    # Asked only of accepted files: the corpus is inspected once more per acceptance, not twice.
    expected = describe_path(str(path))
    if not expected["ok"]:
        problems.append(f"inspect_media refuses it ({expected['error']}) but the form accepted it")
    elif (asset.kind, asset.mime_type) != (expected["kind"], expected["mime"][:100]):
        problems.append(
            f"stored as {asset.kind}/{asset.mime_type}, "
            f"inspect_media says {expected['kind']}/{expected['mime']}"
        )
    folder = "public" if role == Asset.Role.PREVIEW else "private"
    stored_at = f"{folder}/{asset.stored.name}"
    # Embedded cover art may become the product's cover (public storage) on the way.
    product.refresh_from_db()
    cover = product.cover.name
    # A cover offered from embedded art is stored as its sizes (image_store).
    allowed = {stored_at} | (
        {
            f"public/{image_variant(cover, f'{size}.{suffix}')}"
            for size in (1200, 600)
            for suffix in ("jpg", "webp")
        }
        if cover
        else set()
    )
    if stored_at not in new_files or not new_files <= allowed:
        problems.append(f"stored files {sorted(new_files)}, expected {stored_at}")
    return "accepted", problems


@pytest.mark.django_db
@pytest.mark.parametrize("shard", range(SHARDS))
def test_every_corpus_file_is_accepted_or_refused_with_a_reason_through_the_upload_form(shard):
    every = _corpus_paths()
    assert len(every) > 1000
    paths = every[shard::SHARDS]
    started = time.monotonic()

    seller = SellerFactory()
    product = ProductFactory(seller=seller, status=Product.Status.DRAFT)
    client = Client()
    client.force_login(seller.user)

    verdicts: dict[str, dict[str, int]] = {"deliverable": {}, "preview": {}}
    failures: list[str] = []
    for index, path in enumerate(every):
        if index % SHARDS != shard:
            continue
        roles = ["deliverable"]
        # The same picture in ~100 formats: previews accepted (JPEG, PNG, WebP) and
        # refused (the rest), without doubling the runtime with all 1,000 images.
        # Every file goes up as a file for buyers; a sample of the pictures also as
        # previews (accepted: JPEG, PNG, WebP; refused: the rest), to keep the run short.
        is_picture = path.parent == CORPUS / "images" and path.suffix in {
            ".jpg",
            ".png",
            ".webp",
            ".gif",
        }
        if is_picture and index % PREVIEW_SAMPLE == 0:
            roles.append("preview")
        for role in roles:
            verdict, problems = _upload(client, product, path, role)
            counts = verdicts[role]
            counts[verdict] = counts.get(verdict, 0) + 1
            failures += [f"{path.relative_to(CORPUS)} ({role}): {p}" for p in problems]

    elapsed = time.monotonic() - started
    print(f"\ncorpus uploads: {len(paths)} files in {elapsed:.1f} s; {verdicts}")
    assert not failures, f"{len(failures)} problem(s):\n" + "\n".join(failures[:60])
    assert verdicts["deliverable"].get("accepted", 0) > 600 // SHARDS
    assert verdicts["deliverable"].get("refused", 0) > 400 // SHARDS
    assert "crashed" not in verdicts["deliverable"] and "crashed" not in verdicts["preview"]
