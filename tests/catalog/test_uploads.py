"""The resumable upload protocol, local backend (catalog/uploads/)."""

from __future__ import annotations

import hashlib
import io
import json
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from catalog.inspection.types import MediaRefused
from catalog.models import Asset, UploadSession
from catalog.services import assets
from catalog.storage import private_storage, public_storage
from catalog.uploads.backends import private_files
from catalog.uploads.base import MiB
from catalog.uploads.local import LocalUploadBackend, local_path
from catalog.uploads.s3 import MAX_PARTS, part_count, part_size_for
from catalog.uploads.services import upload_purge_expired
from tests.factories import wav_bytes

pytestmark = pytest.mark.django_db

CONTENT = wav_bytes(300_000, seed=7)


def open_upload(
    client: Client, product, content: bytes = CONTENT, role="deliverable", name="Départ.wav"
):
    response = client.post(
        reverse("catalog:sell_upload_create"),
        json.dumps({"product": product.pk, "role": role, "filename": name, "size": len(content)}),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    return response.json()


def send(client: Client, session: dict, offset: int, chunk: bytes, *, declared: int | None = None):
    """PATCH a chunk; `declared` > len(chunk) plays a connection cut mid-chunk."""
    extra = {}
    if declared is not None:
        extra = {"wsgi.input": io.BytesIO(chunk), "CONTENT_LENGTH": str(declared)}
    return client.generic(
        "PATCH",
        session["urls"]["self"],
        chunk,
        content_type="application/offset+octet-stream",
        HTTP_UPLOAD_OFFSET=str(offset),
        **extra,
    )


def status(client: Client, session: dict) -> dict:
    response = client.get(session["urls"]["self"])
    assert response.status_code == 200
    return response.json()


def test_an_interrupted_upload_resumes_and_yields_the_exact_bytes(seller_client, draft):
    session = open_upload(seller_client, draft)
    assert session["backend"] == "local" and session["offset"] == 0

    first = send(seller_client, session, 0, CONTENT[:100_000])
    assert first.status_code == 200 and first.json()["offset"] == 100_000
    # The connection drops 30,000 bytes into a 100,000-byte chunk.
    cut = send(seller_client, session, 100_000, CONTENT[100_000:130_000], declared=100_000)
    assert cut.status_code == 200
    # The client asks where to resume: exactly the bytes that arrived.
    offset = status(seller_client, session)["offset"]
    assert offset == 130_000
    rest = send(seller_client, session, offset, CONTENT[offset:])
    assert rest.json()["offset"] == len(CONTENT)

    finished = seller_client.post(session["urls"]["finish"])
    assert finished.status_code == 200, finished.content
    described = finished.json()["asset"]
    assert described["sha256"] == hashlib.sha256(CONTENT).hexdigest()
    assert described["size"] == len(CONTENT)
    asset = Asset.objects.get(pk=described["id"])
    with asset.file.open("rb") as stored:
        assert stored.read() == CONTENT
    assert asset.original_filename == "Départ.wav" and asset.position == 1
    # The temporary .part file became the asset's file (a rename, not a copy).
    assert not private_storage().exists(f"uploads/{session['id'].replace('-', '')}.part")


def test_a_chunk_at_the_wrong_offset_is_refused_with_the_real_offset(seller_client, draft):
    session = open_upload(seller_client, draft)
    send(seller_client, session, 0, CONTENT[:1000])
    replay = send(seller_client, session, 0, CONTENT[:1000])
    assert replay.status_code == 409
    assert replay.json()["offset"] == 1000
    ahead = send(seller_client, session, 5000, CONTENT[5000:6000])
    assert ahead.status_code == 409 and ahead.json()["offset"] == 1000
    assert status(seller_client, session)["offset"] == 1000


def test_bytes_beyond_the_announced_size_are_refused(seller_client, draft):
    session = open_upload(seller_client, draft)
    response = send(seller_client, session, 0, CONTENT + b"extra")
    assert response.status_code == 413
    assert "past the" in response.json()["error"]
    assert status(seller_client, session)["offset"] == 0


def test_finishing_before_every_byte_arrived_says_how_many_did(seller_client, draft):
    session = open_upload(seller_client, draft)
    send(seller_client, session, 0, CONTENT[:5000])
    response = seller_client.post(session["urls"]["finish"])
    assert response.status_code == 409
    assert "5,000 of 300,000 bytes" in response.json()["error"]
    # Still open: the rest can come and the upload finishes.
    send(seller_client, session, 5000, CONTENT[5000:])
    assert seller_client.post(session["urls"]["finish"]).status_code == 200


def test_finishing_twice_returns_the_same_file(seller_client, draft):
    session = open_upload(seller_client, draft)
    send(seller_client, session, 0, CONTENT)
    one = seller_client.post(session["urls"]["finish"]).json()["asset"]["id"]
    two = seller_client.post(session["urls"]["finish"]).json()["asset"]["id"]
    assert one == two and draft.assets.count() == 1


def test_a_preview_lands_in_the_public_storage_with_a_url(seller_client, draft):
    session = open_upload(seller_client, draft, role="preview", name="sample.wav")
    send(seller_client, session, 0, CONTENT)
    asset = Asset.objects.get(
        pk=seller_client.post(session["urls"]["finish"]).json()["asset"]["id"]
    )
    assert asset.role == Asset.Role.PREVIEW and not asset.file
    assert public_storage().exists(asset.public_file.name)
    assert asset.public_file.url.startswith("/media/previews/")


def test_a_refused_file_gets_the_reason_and_its_bytes_are_removed(
    seller_client, draft, monkeypatch
):
    def refuse(*, asset, file, **claims):
        raise MediaRefused("This WAV file is truncated.")

    monkeypatch.setattr(assets, "asset_describe", refuse)
    session = open_upload(seller_client, draft)
    send(seller_client, session, 0, CONTENT)
    response = seller_client.post(session["urls"]["finish"])
    assert response.status_code == 400
    assert response.json()["error"] == "This WAV file is truncated."
    upload = UploadSession.objects.get(pk=session["id"])
    assert upload.status == UploadSession.Status.REFUSED
    assert not local_path(private_storage(), upload.storage_name).exists()
    assert not draft.assets.exists()
    assert status(seller_client, session)["error"] == "This WAV file is truncated."


def test_files_above_the_limit_are_refused_before_any_byte(seller_client, draft, settings):
    settings.UPLOAD_MAX_BYTES = 1000
    response = seller_client.post(
        reverse("catalog:sell_upload_create"),
        json.dumps({"product": draft.pk, "filename": "film.mkv", "size": 5000}),
        content_type="application/json",
    )
    assert response.status_code == 413
    assert response.json()["error"] == "Files up to 1 KB are accepted; this one is 5 KB."
    assert not UploadSession.objects.exists()


@pytest.mark.parametrize(
    "body, message",
    [
        (b"not json", "Send JSON."),
        (b"[1, 2]", "Send a JSON object."),
        (b'{"product": 0, "size": 5}', None),
        (b'{"size": "lots"}', None),
    ],
)
def test_malformed_requests_get_a_clear_answer_not_a_500(seller_client, draft, body, message):
    if b"lots" in body:
        body = json.dumps({"product": draft.pk, "size": "lots"}).encode()
        message = (
            "Give the file's size in bytes: Write a whole number with the digits 0 to 9, like 12."
        )
    response = seller_client.post(
        reverse("catalog:sell_upload_create"), body, content_type="application/json"
    )
    assert response.status_code in (400, 404)
    if message:
        assert response.json()["error"] == message


def test_an_expired_upload_is_refused_and_purged(seller_client, draft):
    session = open_upload(seller_client, draft)
    send(seller_client, session, 0, CONTENT[:1000])
    upload = UploadSession.objects.get(pk=session["id"])
    path = local_path(private_storage(), upload.storage_name)
    assert path.exists()
    UploadSession.objects.filter(pk=upload.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    response = send(seller_client, session, 1000, CONTENT[1000:2000])
    assert response.status_code == 410
    assert upload_purge_expired() == 1
    assert not path.exists() and not UploadSession.objects.exists()


def test_abandoning_an_upload_removes_its_bytes(seller_client, draft):
    session = open_upload(seller_client, draft)
    send(seller_client, session, 0, CONTENT[:1000])
    path = local_path(private_storage(), UploadSession.objects.get().storage_name)
    assert seller_client.delete(session["urls"]["self"]).status_code == 204
    assert not path.exists() and not UploadSession.objects.exists()


def test_uploads_in_a_row_keep_their_order(seller_client, draft):
    for index in range(3):
        content = wav_bytes(2000, seed=index)
        session = open_upload(seller_client, draft, content, name=f"0{index + 1}.wav")
        send(seller_client, session, 0, content)
        seller_client.post(session["urls"]["finish"])
    assert [(a.position, a.original_filename) for a in draft.assets.order_by("position")] == [
        (1, "01.wav"),
        (2, "02.wav"),
        (3, "03.wav"),
    ]


def test_part_sizes_keep_any_allowed_file_within_s3s_ten_thousand_parts():
    for size in (1, 16 * MiB, 20 * 1024**3, 50 * 1024**3):
        part = part_size_for(size)
        assert part >= 5 * MiB and part % MiB == 0
        assert part_count(size, part) <= MAX_PARTS


def test_the_purge_command_removes_expired_uploads_only(seller_client, draft):
    from django.core.management import call_command

    old, fresh = open_upload(seller_client, draft), open_upload(seller_client, draft)
    UploadSession.objects.filter(pk=old["id"]).update(
        expires_at=timezone.now() - timedelta(hours=1)
    )
    out = io.StringIO()
    call_command("purge_uploads", stdout=out)
    assert out.getvalue().strip() == "Removed 1 expired upload."
    assert [str(pk) for pk in UploadSession.objects.values_list("pk", flat=True)] == [fresh["id"]]


def test_derived_files_are_written_read_and_deleted_in_the_private_storage():
    files = private_files()
    assert isinstance(files, LocalUploadBackend)
    name = files.file_save("derived/test/stamped.epub", ContentFile(b"stamped bytes"))
    with files.file_open(name) as opened:
        assert opened.read() == b"stamped bytes"
    files.file_delete(name)
    assert not private_storage().exists(name)
