"""Request bodies are refused by their declared size before anything parses them."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from django.urls import reverse

from catalog.models import Product
from catalog.uploads.base import CHUNK_MAX_BYTES
from tests.catalog.test_sell_products import cover, form

pytestmark = pytest.mark.django_db

MiB = 1024 * 1024
BOUNDARY = "----echoppe-boundary"


class StreamedBody(io.RawIOBase):
    """A multipart body of `size` bytes made on the fly; counts what was read of it."""

    def __init__(self, size: int) -> None:
        head = (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; '
            'filename="big.bin"\r\nContent-Type: application/octet-stream\r\n\r\n'
        ).encode()
        tail = f"\r\n--{BOUNDARY}--\r\n".encode()
        self.size = size
        self.read_bytes = 0
        self._pieces = self._generate(head, size - len(head) - len(tail), tail)
        self._buffer = b""

    @staticmethod
    def _generate(head: bytes, filler: int, tail: bytes) -> Iterator[bytes]:
        yield head
        block = b"x" * MiB
        while filler > 0:
            yield block[: min(filler, MiB)]
            filler -= MiB
        yield tail

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buffer) < size:
            piece = next(self._pieces, b"")
            if not piece:
                break
            self._buffer += piece
        if size < 0:
            size = len(self._buffer)
        out, self._buffer = self._buffer[:size], self._buffer[size:]
        self.read_bytes += len(out)
        return out

    def readline(self, size: int | None = -1) -> bytes:  # type: ignore[override]
        return self.read(MiB if size is None or size < 0 else size)


def wsgi_post(path: str, body: StreamedBody, *, declared: int | None, cookie: str = "") -> Any:
    """POST `body` through Django's real WSGI handler, as gunicorn would call it."""
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "testserver",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_TYPE": f"multipart/form-data; boundary={BOUNDARY}",
        "wsgi.input": body,
        "wsgi.url_scheme": "http",
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
    }
    if declared is not None:
        environ["CONTENT_LENGTH"] = str(declared)
    else:
        environ["wsgi.input_terminated"] = True  # a chunked body, as gunicorn passes it
    if cookie:
        environ["HTTP_COOKIE"] = cookie
    answer: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        answer["status"] = int(status.split()[0])
        answer["headers"] = dict(headers)

    # As Django's test client does: a request must not close the test's database
    # connection (on PostgreSQL it holds the test's transaction).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        chunks = WSGIHandler()(environ, start_response)
        answer["body"] = b"".join(chunks).decode()
        chunks.close()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return answer


@pytest.fixture
def temp_dir(tmp_path: Path, settings: Any) -> Path:
    folder = tmp_path / "uploads-tmp"
    folder.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(folder)
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 0  # every file part would go to disk
    return folder


def test_an_anonymous_300_mib_post_is_refused_before_a_byte_is_read(temp_dir):
    body = StreamedBody(300 * MiB)
    answer = wsgi_post("/accounts/login/", body, declared=body.size)
    assert answer["status"] == 413
    assert "too large: 314.6 MB" in answer["body"] and "up to 1 MB" in answer["body"]
    assert body.read_bytes == 0
    assert list(temp_dir.iterdir()) == []


def test_an_anonymous_post_to_an_upload_route_gets_the_small_limit(temp_dir, draft):
    body = StreamedBody(300 * MiB)
    answer = wsgi_post(reverse("catalog:sell_files", args=[draft.pk]), body, declared=body.size)
    assert answer["status"] == 413
    assert body.read_bytes == 0 and list(temp_dir.iterdir()) == []


def test_a_body_without_content_length_is_never_read(temp_dir):
    # A chunked body: Django reads a WSGI body only as far as Content-Length says.
    body = StreamedBody(300 * MiB)
    answer = wsgi_post("/accounts/login/", body, declared=None)
    assert answer["status"] == 403  # the CSRF check, on an empty form
    assert body.read_bytes == 0 and list(temp_dir.iterdir()) == []


def test_a_lying_content_length_reads_no_further_than_it_claims(temp_dir):
    # The webhook reads its raw body (no CSRF check): the claim bounds the read.
    body = StreamedBody(300 * MiB)
    answer = wsgi_post(reverse("shop:stripe_webhook"), body, declared=512 * 1024)
    assert answer["status"] == 400  # no valid signature
    assert body.read_bytes == 512 * 1024
    assert list(temp_dir.iterdir()) == []


def test_a_body_within_the_limit_passes_the_guard(temp_dir):
    body = StreamedBody(900 * 1024)
    answer = wsgi_post(reverse("shop:stripe_webhook"), body, declared=body.size)
    assert answer["status"] == 400
    assert body.read_bytes == body.size


def test_the_same_body_past_the_limit_is_not_read(temp_dir):
    body = StreamedBody(2 * MiB)
    answer = wsgi_post(reverse("shop:stripe_webhook"), body, declared=body.size)
    assert answer["status"] == 413
    assert body.read_bytes == 0


def test_the_limit_is_a_setting(client, settings):
    settings.REQUEST_MAX_BYTES = 1000
    response = client.post(reverse("login"), {"username": "x" * 2000, "password": "y"})
    assert response.status_code == 413
    assert "This request is too large" in response.content.decode()


def test_a_seller_may_send_a_cover_above_the_small_limit_but_not_above_the_image_limit(
    seller_client, settings
):
    settings.REQUEST_MAX_BYTES = 1000
    settings.REQUEST_MAX_BYTES_IMAGES = 50_000
    url = reverse("catalog:sell_product_new")
    ok = seller_client.post(url, form(description="d" * 5000, cover=cover()))
    assert ok.status_code == 302
    assert Product.objects.get().cover
    refused = seller_client.post(url, form(title="Other", description="d" * 60_000))
    assert refused.status_code == 413
    assert "up to 50 KB" in refused.content.decode()
    assert Product.objects.count() == 1


def test_a_cover_on_an_anonymous_request_gets_the_small_limit(client, settings):
    settings.REQUEST_MAX_BYTES = 1000
    response = client.post(reverse("catalog:sell_product_new"), form(description="d" * 5000))
    assert response.status_code == 413


def test_an_upload_chunk_above_the_protocol_limit_is_refused_as_json(seller_client, draft):
    session = seller_client.post(
        reverse("catalog:sell_upload_create"),
        {"product": draft.pk, "role": "deliverable", "filename": "a.pdf", "size": 10**9},
        content_type="application/json",
    ).json()
    response = seller_client.generic(
        "PATCH",
        session["urls"]["self"],
        b"x",
        content_type="application/offset+octet-stream",
        HTTP_UPLOAD_OFFSET="0",
        CONTENT_LENGTH=str(CHUNK_MAX_BYTES + 1),
    )
    assert response.status_code == 413
    assert "too large" in response.json()["error"]


def test_an_ordinary_chunk_passes_the_guard(seller_client, draft):
    session = seller_client.post(
        reverse("catalog:sell_upload_create"),
        {"product": draft.pk, "role": "deliverable", "filename": "a.pdf", "size": 2 * MiB},
        content_type="application/json",
    ).json()
    response = seller_client.generic(
        "PATCH",
        session["urls"]["self"],
        b"x" * (2 * MiB),
        content_type="application/offset+octet-stream",
        HTTP_UPLOAD_OFFSET="0",
    )
    assert response.status_code == 200
    assert response.json()["offset"] == 2 * MiB


def test_the_guard_comes_first(settings):
    assert settings.MIDDLEWARE[0] == "catalog.request_size.RequestSizeMiddleware"


def test_a_client_without_a_session_gets_the_same_page(settings):
    settings.REQUEST_MAX_BYTES = 10
    response = Client().post("/no/such/page/", {"a": "b" * 100})
    assert response.status_code == 404  # no view: nothing would read the body


def test_staff_may_send_a_large_file_to_the_admin_and_no_one_else_may(db, rf):
    from django.contrib.auth.models import AnonymousUser
    from django.urls import resolve

    from catalog.request_size import route_allowance
    from tests.factories import UserFactory

    view = resolve("/admin/catalog/product/add/").func
    request = rf.post("/admin/catalog/product/add/")
    request.user = UserFactory(is_staff=True)
    assert route_allowance(request, view).bytes == settings.UPLOAD_MAX_BYTES
    for user in (UserFactory(), AnonymousUser()):
        request.user = user
        assert route_allowance(request, view).bytes == settings.REQUEST_MAX_BYTES
