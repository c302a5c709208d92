"""Uploads straight to S3 (SeaweedFS on loopback): the app signs, the bytes skip it.

The browser's part is played by plain HTTP PUTs to the presigned URLs, with
no credentials and no SDK, exactly what uploader.js does.
"""

from __future__ import annotations

import hashlib
import json
import urllib.error
import urllib.request

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from catalog.models import Asset, UploadSession
from catalog.storage import private_storage
from catalog.uploads import s3
from catalog.uploads.backends import private_files
from catalog.uploads.base import MiB
from tests.factories import wav_bytes

pytestmark = pytest.mark.django_db

PART = 5 * MiB  # S3's smallest part; keeps the test quick
CONTENT = wav_bytes(2 * PART + 123_457, seed=3)  # three parts, the last one short


@pytest.fixture
def on_s3(s3_server, settings, monkeypatch):
    settings.STORAGES = s3_server.storages()
    monkeypatch.setattr(s3, "MIN_PART_BYTES", PART)
    return s3_server


def put(url: str, data: bytes) -> int:
    assert url.startswith("http://127.0.0.1:"), url
    request = urllib.request.Request(url, data=data, method="PUT")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as refused:
        return refused.code


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as refused:
        return refused.code, b""


def open_upload(client, product, role="deliverable"):
    response = client.post(
        reverse("catalog:sell_upload_create"),
        json.dumps(
            {
                "product": product.pk,
                "role": role,
                "filename": "Trois parts.wav",
                "size": len(CONTENT),
            }
        ),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    return response.json()


def presign(client, session, numbers):
    response = client.post(
        session["urls"]["parts"], json.dumps({"numbers": numbers}), content_type="application/json"
    )
    assert response.status_code == 200, response.content
    return response.json()["urls"]


def part_bytes(number: int) -> bytes:
    return CONTENT[(number - 1) * PART : number * PART]


def test_parts_go_straight_to_the_bucket_and_an_interrupted_upload_resumes(
    on_s3, seller_client, draft
):
    session = open_upload(seller_client, draft)
    assert session["backend"] == "s3" and session["part_size"] == PART

    urls = presign(seller_client, session, [1, 2, 3])
    assert all(url.startswith(on_s3.endpoint_url) for url in urls.values())
    assert put(urls["1"], part_bytes(1)) == 200
    assert put(urls["2"], part_bytes(2)) == 200
    # The tab closes here. Later, the server tells which parts the bucket holds.
    state = seller_client.get(session["urls"]["self"]).json()
    assert [(p["number"], p["size"]) for p in state["parts"]] == [(1, PART), (2, PART)]
    assert state["offset"] == 2 * PART
    # Finishing now is refused with what is missing.
    early = seller_client.post(session["urls"]["finish"])
    assert early.status_code == 409 and "Parts 3 of 3" in early.json()["error"]
    # Resume: only the missing part, with a fresh URL.
    assert put(presign(seller_client, session, [3])["3"], part_bytes(3)) == 200

    finished = seller_client.post(session["urls"]["finish"])
    assert finished.status_code == 200, finished.content
    described = finished.json()["asset"]
    assert described["sha256"] == hashlib.sha256(CONTENT).hexdigest()
    assert described["size"] == len(CONTENT)
    asset = Asset.objects.get(pk=described["id"])
    stored = on_s3.client().get_object(Bucket=on_s3.private_bucket, Key=asset.file.name)
    assert stored["Body"].read() == CONTENT
    # The private object is not readable without a signature.
    assert get(f"{on_s3.endpoint_url}/{on_s3.private_bucket}/{asset.file.name}")[0] == 403


def test_a_preview_is_copied_to_the_public_bucket_and_readable_by_anyone(
    on_s3, seller_client, draft
):
    session = open_upload(seller_client, draft, role="preview")
    urls = presign(seller_client, session, [1, 2, 3])
    for number in (1, 2, 3):
        assert put(urls[str(number)], part_bytes(number)) == 200
    finished = seller_client.post(session["urls"]["finish"])
    assert finished.status_code == 200, finished.content
    asset = Asset.objects.get(pk=finished.json()["asset"]["id"])
    assert asset.role == Asset.Role.PREVIEW and not asset.file
    status, body = get(asset.public_file.url)
    assert status == 200 and body == CONTENT
    # Nothing is left behind in the private bucket.
    listed = on_s3.client().list_objects_v2(
        Bucket=on_s3.private_bucket, Prefix=UploadSession.objects.get().storage_name
    )
    assert listed.get("KeyCount", 0) == 0


def test_a_wrong_sized_part_is_named_when_finishing(on_s3, seller_client, draft):
    session = open_upload(seller_client, draft)
    urls = presign(seller_client, session, [1, 2, 3])
    put(urls["1"], part_bytes(1))
    put(urls["2"], part_bytes(2)[:-10] + part_bytes(3)[:10] + b"x" * 10)  # 10 bytes too many
    put(urls["3"], part_bytes(3))
    response = seller_client.post(session["urls"]["finish"])
    assert response.status_code == 409
    assert response.json()["error"] == f"Part 2 holds {PART + 10:,} bytes, not {PART:,}."


def test_an_abandoned_multipart_upload_is_aborted(on_s3, seller_client, draft):
    session = open_upload(seller_client, draft)
    put(presign(seller_client, session, [1])["1"], part_bytes(1))
    upload = UploadSession.objects.get()
    assert seller_client.delete(session["urls"]["self"]).status_code == 204
    pending = on_s3.client().list_multipart_uploads(Bucket=on_s3.private_bucket)
    assert upload.s3_upload_id not in [u["UploadId"] for u in pending.get("Uploads", [])]


def test_part_numbers_outside_the_file_are_refused(on_s3, seller_client, draft):
    session = open_upload(seller_client, draft)
    response = seller_client.post(
        session["urls"]["parts"], json.dumps({"numbers": [4]}), content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["error"] == "Ask for between 1 and 100 part numbers from 1 to 3."


def test_derived_files_are_written_read_and_deleted_in_the_private_bucket(on_s3):
    files = private_files()
    assert isinstance(files, s3.S3UploadBackend)
    name = files.file_save("derived/test/track.ogg", ContentFile(b"transcoded bytes"))
    with files.file_open(name) as opened:
        assert opened.read() == b"transcoded bytes"
    files.file_delete(name)
    assert not private_storage().exists(name)


def test_the_quota_refuses_an_upload_before_a_multipart_upload_is_opened(
    on_s3, seller_client, draft, settings
):
    settings.SELLER_QUOTA_OPEN_UPLOADS = 1
    bucket = private_storage().bucket_name  # type: ignore[attr-defined]

    def open_ids() -> set[str]:
        listed = on_s3.client().list_multipart_uploads(Bucket=bucket).get("Uploads", [])
        return {u["UploadId"] for u in listed}

    first = open_upload(seller_client, draft)
    before = open_ids()
    assert UploadSession.objects.get(pk=first["id"]).s3_upload_id in before
    refused = seller_client.post(
        reverse("catalog:sell_upload_create"),
        json.dumps({"product": draft.pk, "role": "deliverable", "filename": "b.wav", "size": 10}),
        content_type="application/json",
    )
    assert refused.status_code == 413
    assert "your shop may have 1 at a time" in refused.json()["error"]
    assert open_ids() == before
    assert UploadSession.objects.count() == 1
