"""Uploads through the API: the protocol of catalog/uploads with a token, local and S3."""

from __future__ import annotations

import hashlib

import pytest

from catalog.models import Asset, UploadSession
from catalog.uploads import s3
from catalog.uploads.base import MiB
from shop.api.scopes import CATALOG_READ, CATALOG_WRITE
from tests.api.conftest import Api, Shop, error_of
from tests.catalog.test_uploads_s3 import put
from tests.factories import pdf_bytes, wav_bytes

pytestmark = pytest.mark.django_db

CHUNK = "application/offset+octet-stream"


def start(api: Api, shop: Shop, content: bytes, **extra):
    body = {"filename": "Notes.pdf", "size": len(content), **extra}
    return api.call("POST", f"products/{shop.product.pk}/uploads", token=shop.token(), body=body)


def chunk(api: Api, shop: Shop, upload_id: str, data: bytes, offset: int, token=None):
    return api.call(
        "PATCH",
        f"products/{shop.product.pk}/uploads/{upload_id}",
        token=token or shop.token(),
        raw=data,
        content_type=CHUNK,
        headers={"Upload-Offset": str(offset)},
    )


def complete(api: Api, shop: Shop, upload_id: str, **body):
    return api.call(
        "POST",
        f"products/{shop.product.pk}/uploads/{upload_id}/complete",
        token=shop.token(),
        body=body,
    )


def test_a_file_goes_up_in_chunks_resumes_and_becomes_a_file_of_the_product(
    api: Api, shop_a: Shop
) -> None:
    content = pdf_bytes(b"x" * 50_000, title="Notes")
    opened = start(api, shop_a, content)
    assert opened.status_code == 201, opened.content
    upload = opened.json()
    assert upload["backend"] == "local" and upload["offset"] == 0
    first = chunk(api, shop_a, upload["id"], content[:20_000], 0)
    assert first.status_code == 200 and first.json()["offset"] == 20_000
    # A chunk sent again from a stale offset is refused with the real one.
    stale = chunk(api, shop_a, upload["id"], content[:20_000], 0)
    assert stale.status_code == 409 and stale["Upload-Offset"] == "20000"
    assert error_of(stale)["code"] == "conflict"
    status = api.get(f"products/{shop_a.product.pk}/uploads/{upload['id']}", shop_a.token())
    assert status.json()["offset"] == 20_000
    chunk(api, shop_a, upload["id"], content[20_000:], 20_000)
    done = complete(api, shop_a, upload["id"], sha256=hashlib.sha256(content).hexdigest())
    assert done.status_code == 200, done.content
    asset = Asset.objects.get(pk=done.json()["id"])
    assert asset.product == shop_a.product and asset.sha256 == hashlib.sha256(content).hexdigest()
    assert asset.stored.open("rb").read() == content


def test_a_wrong_checksum_refuses_the_file_and_keeps_nothing(api: Api, shop_a: Shop) -> None:
    content = pdf_bytes(b"y" * 1000)
    upload = start(api, shop_a, content).json()
    chunk(api, shop_a, upload["id"], content, 0)
    before = Asset.objects.count()
    refused = complete(api, shop_a, upload["id"], sha256="0" * 64)
    assert refused.status_code == 400 and "SHA-256" in error_of(refused)["message"]
    assert Asset.objects.count() == before
    assert UploadSession.objects.get(pk=upload["id"]).status == UploadSession.Status.REFUSED


def test_bad_input_is_a_json_error_and_writes_nothing(
    api: Api, shop_a: Shop, shop_b: Shop, settings
) -> None:
    content = pdf_bytes(b"z" * 1000)
    settings.UPLOAD_MAX_BYTES = 10_000
    too_big = start(api, shop_a, b"x" * 10_001)
    assert too_big.status_code == 413 and error_of(too_big)["code"] == "too_large"
    upload = start(api, shop_a, content).json()
    past_end = chunk(api, shop_a, upload["id"], content + b"more", 0)
    assert past_end.status_code == 413
    theirs = api.call(
        "POST",
        f"products/{shop_b.product.pk}/uploads",
        token=shop_a.token(),
        body={"filename": "a.pdf", "size": 10},
    )
    assert theirs.status_code == 404
    other = chunk(api, shop_b, upload["id"], content, 0)  # B's token, A's upload
    assert other.status_code == 404
    read_only = chunk(api, shop_a, upload["id"], content, 0, token=shop_a.token(CATALOG_READ))
    assert read_only.status_code == 403
    as_json = api.call(
        "PATCH",
        f"products/{shop_a.product.pk}/uploads/{upload['id']}",
        token=shop_a.token(),
        body={"bytes": "nope"},
        headers={"Upload-Offset": "0"},
    )
    assert as_json.status_code == 415
    assert UploadSession.objects.get(pk=upload["id"]).received_bytes == 0
    assert UploadSession.objects.filter(product=shop_b.product).count() == 0


def test_a_chunk_larger_than_the_usual_body_needs_a_writing_token(
    api: Api, shop_a: Shop, settings
) -> None:
    settings.REQUEST_MAX_BYTES = 1000
    content = pdf_bytes(b"w" * 5000)
    upload = start(api, shop_a, content).json()
    refused = chunk(api, shop_a, upload["id"], content, 0, token=shop_a.token(CATALOG_READ))
    assert refused.status_code == 413 and error_of(refused)["code"] == "too_large"
    assert chunk(api, shop_a, upload["id"], content, 0).status_code == 200


def test_an_upload_goes_to_s3_in_presigned_parts(
    api: Api, shop_a: Shop, s3_server, settings, monkeypatch
) -> None:
    settings.STORAGES = s3_server.storages()
    part = 5 * MiB
    monkeypatch.setattr(s3, "MIN_PART_BYTES", part)
    content = wav_bytes(part + 4321, seed=5)
    upload = start(api, shop_a, content, filename="Deux.wav").json()
    assert upload["backend"] == "s3" and upload["part_size"] == part
    # Chunks through the app are for local storage only.
    assert chunk(api, shop_a, upload["id"], content[:10], 0).status_code == 409
    path = f"products/{shop_a.product.pk}/uploads/{upload['id']}"
    urls = api.call(
        "POST", f"{path}/parts", token=shop_a.token(CATALOG_WRITE), body={"numbers": [1, 2]}
    )
    assert urls.status_code == 200, urls.content
    assert put(urls.json()["urls"]["1"], content[:part]) == 200
    early = complete(api, shop_a, upload["id"])
    assert early.status_code == 409  # a part is missing: nothing is added
    assert api.get(path, shop_a.token()).json()["parts"] == [{"number": 1, "size": part}]
    assert put(urls.json()["urls"]["2"], content[part:]) == 200
    done = complete(api, shop_a, upload["id"], sha256=hashlib.sha256(content).hexdigest())
    assert done.status_code == 200, done.content
    asset = Asset.objects.get(pk=done.json()["id"])
    assert asset.stored.open("rb").read() == content
