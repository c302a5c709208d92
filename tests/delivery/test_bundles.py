"""'Download all': one ZIP, streamed as built with its exact length, resumable, counted once per file."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.urls import reverse

from delivery import access
from delivery.formats.models import ZipBuild
from delivery.models import Download
from delivery.services import entitlement_grant, entitlement_revoke, library_link_create
from tests.delivery.test_s3 import fetch
from tests.factories import add_file, pdf_bytes

pytestmark = pytest.mark.django_db

FILES = {
    "01 Intro.pdf": pdf_bytes(b"one" * 3000, title="One"),
    "02 Body.pdf": pdf_bytes(b"two" * 5000, title="Two"),
    "03 Notes.txt": b"plain notes\n" * 100,
}


@pytest.fixture
def bought(product):
    assets = [
        add_file(product, data, name, position=n) for n, (name, data) in enumerate(FILES.items())
    ]
    entitlement = entitlement_grant(email="fan@example.com", product=product)
    token = library_link_create(library=entitlement.library)
    return entitlement, assets, token


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def _zip_link(client, bought) -> str:
    entitlement, _assets, token = bought
    response = client.get(reverse("delivery:bundle", args=[token, entitlement.pk]))
    assert response.status_code == 302, response.content[:500]
    return response["Location"]


def test_the_library_offers_download_all_for_several_files(client, bought):
    entitlement, _assets, token = bought
    html = client.get(reverse("delivery:library", kwargs={"token": token})).content.decode()
    assert reverse("delivery:bundle", args=[token, entitlement.pk]) in html
    assert "Download all (3 files, ZIP)" in html


def test_the_zip_has_every_file_stored_and_its_exact_length(client, bought):
    entitlement, _assets, _token = bought
    response = client.get(_zip_link(client, bought))
    assert response.status_code == 200
    assert response.streaming
    data = _body(response)
    assert int(response["Content-Length"]) == len(data)
    assert response["Content-Type"] == "application/zip"
    assert f'filename="{entitlement.product.title}.zip"' in response["Content-Disposition"]
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        infos = archive.infolist()
        assert [i.filename for i in infos] == [f"{entitlement.product.title}/{n}" for n in FILES]
        assert {i.compress_type for i in infos} == {zipfile.ZIP_STORED}
        for name, content in FILES.items():
            assert archive.read(f"{entitlement.product.title}/{name}") == content


def test_a_range_resumes_the_same_bytes(client, bought):
    link = _zip_link(client, bought)
    whole = _body(client.get(link))
    etag = client.get(link, HTTP_RANGE="bytes=0-0")["ETag"]
    for first, last in ((0, 99), (5000, 20000), (len(whole) - 50, len(whole) - 1)):
        part = client.get(link, HTTP_RANGE=f"bytes={first}-{last}", HTTP_IF_RANGE=etag)
        assert part.status_code == 206
        assert part["Content-Range"] == f"bytes {first}-{last}/{len(whole)}"
        assert _body(part) == whole[first : last + 1]
    assert client.get(link, HTTP_RANGE=f"bytes={len(whole)}-").status_code == 416
    head = client.head(link)
    assert head["Content-Length"] == str(len(whole))
    assert head.content == b""


def test_one_zip_download_counts_once_for_each_file(client, bought):
    entitlement, assets, _token = bought
    link = _zip_link(client, bought)
    client.get(link)
    client.get(link, HTTP_RANGE="bytes=100-")
    counted = Download.objects.filter(entitlement=entitlement, counted=True)
    assert sorted(counted.values_list("asset_id", flat=True)) == sorted(a.pk for a in assets)


def test_the_download_limit_applies_to_the_zip(client, bought):
    entitlement, _assets, _token = bought
    entitlement.download_limit = 1
    entitlement.save(update_fields=["download_limit"])
    link = _zip_link(client, bought)
    assert client.get(link).status_code == 200
    from datetime import timedelta

    Download.objects.update(at=Download.objects.first().at - timedelta(hours=2))
    fresh = access.zip_link_mint(entitlement=entitlement)
    response = client.get(reverse("delivery:download_zip", kwargs={"signed": fresh}))
    assert response.status_code == 403
    assert "limit" in response.content.decode().lower()


def test_a_revoked_purchase_gets_no_zip(client, bought):
    entitlement, _assets, _token = bought
    link = _zip_link(client, bought)
    entitlement_revoke(entitlement=entitlement, reason="Refunded.")
    assert client.get(link).status_code == 403


def test_a_file_link_is_not_a_zip_link_and_back(client, bought):
    entitlement, assets, _token = bought
    file_token = access.file_link_mint(entitlement=entitlement, asset=assets[0])
    zip_token = access.zip_link_mint(entitlement=entitlement)
    assert client.get(reverse("delivery:download_zip", args=[file_token])).status_code == 404
    assert client.get(reverse("delivery:download", args=[zip_token])).status_code == 404


def test_another_library_cannot_ask_for_the_zip(client, bought, product):
    other = entitlement_grant(email="other@example.com", product=product)
    token = library_link_create(library=other.library)
    entitlement, _assets, _token = bought
    assert client.get(reverse("delivery:bundle", args=[token, entitlement.pk])).status_code == 404


def test_x_accel_gets_a_zip_built_once_and_stored(
    client, bought, settings, django_capture_on_commit_callbacks
):
    settings.DELIVERY_BACKEND = "x-accel"
    entitlement, _assets, token = bought
    url = reverse("delivery:bundle", args=[token, entitlement.pk])
    with django_capture_on_commit_callbacks(execute=True):
        first = client.get(url)
    assert first.status_code == 200 and "Preparing your download" in first.content.decode()
    build = ZipBuild.objects.get()
    assert build.status == ZipBuild.Status.READY
    response = client.get(client.get(url)["Location"])
    assert response["X-Accel-Redirect"] == settings.DELIVERY_X_ACCEL_PREFIX + build.stored_name
    with build_file(build) as archive:
        assert len(archive.infolist()) == 3


def build_file(build):
    from catalog.storage import private_storage

    return zipfile.ZipFile(private_storage().open(build.stored_name, "rb"))


def test_on_s3_the_zip_is_built_once_stored_and_presigned(
    on_s3, client, product, django_capture_on_commit_callbacks
):
    for n, (name, data) in enumerate(FILES.items()):
        add_file(product, data, name, position=n)
    entitlement = entitlement_grant(email="fan@example.com", product=product)
    token = library_link_create(library=entitlement.library)
    url = reverse("delivery:bundle", args=[token, entitlement.pk])
    with django_capture_on_commit_callbacks(execute=True):
        client.get(url)
    build = ZipBuild.objects.get()
    assert build.status == ZipBuild.Status.READY, build.error
    response = client.get(client.get(url)["Location"])
    assert response.status_code == 302
    status, _headers, body = fetch(response["Location"])
    assert status == 200 and len(body) == build.size_bytes
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        assert archive.read(f"{product.title}/02 Body.pdf") == FILES["02 Body.pdf"]
    status, _headers, part = fetch(response["Location"], Range="bytes=10-19")
    assert status == 206 and part == body[10:20]


@pytest.mark.django_db(transaction=True)
def test_on_stream_every_zip_streams_and_nothing_is_stored(client, bought, settings, monkeypatch):
    from delivery import ziplayout
    from delivery.formats.models import FileChecksum

    # A queue that runs in a worker: still nothing to build, the files are sent as they are.
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    assert settings.DELIVERY_BACKEND == "stream"
    link = _zip_link(client, bought)
    first = _body(client.get(link))
    assert not ZipBuild.objects.exists()
    # Each file's CRC-32 was read once and kept: the next download reads none.
    assert set(FileChecksum.objects.values_list("sha256", flat=True)) == {
        a.sha256 for a in bought[1]
    }
    monkeypatch.setattr(ziplayout, "file_crc32", lambda handle: pytest.fail("read again"))
    again = client.get(link)
    assert _body(again) == first and again["ETag"]
    resumed = client.get(link, HTTP_RANGE="bytes=100-", HTTP_IF_RANGE=again["ETag"])
    assert resumed.status_code == 206 and _body(resumed) == first[100:]
    assert zipfile.ZipFile(io.BytesIO(first)).testzip() is None
    assert Download.objects.filter(counted=True).count() == 3  # the files, counted once


def test_under_gunicorn_the_files_go_to_the_socket_with_sendfile(client, bought, monkeypatch):
    import socket
    import threading

    from gunicorn.http.wsgi import FileWrapper

    link = _zip_link(client, bought)
    plain = _body(client.get(link))
    sent: list[int] = []
    real_sendfile = socket.socket.sendfile

    def counted(sock, handle, offset=0, count=None):
        sent.append(count)
        return real_sendfile(sock, handle, offset, count)

    monkeypatch.setattr(socket.socket, "sendfile", counted)
    ours, theirs = socket.socketpair()
    received = bytearray()

    def read() -> None:
        while chunk := theirs.recv(1 << 16):
            received.extend(chunk)

    reader = threading.Thread(target=read)
    reader.start()
    # What gunicorn puts in the environ, and what its worker does with the iterator.
    response = client.get(link, **{"gunicorn.socket": ours, "wsgi.file_wrapper": FileWrapper})
    for chunk in response.streaming_content:
        ours.sendall(chunk)
    ours.shutdown(socket.SHUT_WR)
    reader.join(10)
    ours.close()
    theirs.close()
    assert bytes(received) == plain
    assert sorted(sent) == sorted(len(data) for data in FILES.values())  # each file, whole


def test_with_tasks_run_in_the_request_no_build_is_asked(client, bought):
    # The immediate backend would build the whole ZIP inside the buyer's request.
    response = client.get(_zip_link(client, bought))
    assert response.status_code == 200 and _body(response)
    assert not ZipBuild.objects.exists()
