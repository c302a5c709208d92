"""The README's nginx configuration, run as written in front of a stand-in app.

The two ``nginx`` blocks are taken from README.md and changed only where a test
machine differs (the port, the upstream's port, the paths); a substitution that
no longer matches fails the test, so the README cannot drift away from it. Each
location must let through the largest body the app accepts there (nginx's own
default of 1 MiB once answered 413 to every 8 MiB upload chunk) and refuse a
larger one itself, before the app reads anything; an ``X-Accel-Redirect`` is
answered from the internal location, with ranges, and that location is not
reachable from outside.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.conf import settings

from catalog.imports import ZIP_MAX_BYTES
from catalog.request_size import MULTIPART_MARGIN
from catalog.uploads.base import CHUNK_MAX_BYTES

README = Path(__file__).resolve().parents[1] / "README.md"
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
MiB = 1024 * 1024

pytestmark = pytest.mark.skipif(
    NGINX is None, reason="nginx is not installed (apt-get install nginx-light; .ci/run does)"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def readme_blocks() -> tuple[str, str]:
    blocks = re.findall(r"```nginx\n(.*?)```", README.read_text(), re.S)
    server = [block for block in blocks if "upstream echoppe" in block]
    proxy = [block for block in blocks if block.lstrip().startswith("proxy_pass")]
    assert len(server) == 1 and len(proxy) == 1, "the README's two nginx blocks moved"
    return server[0], proxy[0]


def replace(text: str, old: str, new: str) -> str:
    assert old in text, f"the README's nginx configuration no longer says {old!r}"
    return text.replace(old, new)


class StandIn(BaseHTTPRequestHandler):
    """Answers what it received; `X-Probe: early` answers before reading the body
    (a body too large to send in a test, declared only), and /download/ hands the
    file to nginx as the app's x-accel backend does."""

    protocol_version = "HTTP/1.1"
    seen: list[tuple[str, str, int]] = []

    def log_message(self, *args: object) -> None:
        pass

    def answer(self, payload: dict[str, object], headers: dict[str, str] | None = None) -> None:
        body = json.dumps(payload).encode()
        self.send_response(200)
        for name, value in {"Content-Type": "application/json", **(headers or {})}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path.startswith("/download/"):
            self.send_response(200)
            self.send_header("X-Accel-Redirect", "/_protected/ab/song.flac")
            self.send_header("Content-Type", "audio/flac")
            self.send_header("Content-Disposition", 'attachment; filename="song.flac"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.answer({"path": self.path})

    def receive(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if self.headers.get("X-Probe") == "early":
            self.seen.append((self.command, self.path, -1))
            self.answer({"declared": length}, {"Connection": "close"})
            self.close_connection = True
            return
        received = 0
        while received < length:
            chunk = self.rfile.read(min(MiB, length - received))
            if not chunk:
                break
            received += len(chunk)
        self.seen.append((self.command, self.path, received))
        self.answer({"received": received})

    do_POST = do_PATCH = receive


@pytest.fixture(scope="module")
def nginx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    work = Path(tmp_path_factory.mktemp("nginx"))
    private = work / "media" / "private" / "ab"
    private.mkdir(parents=True)
    (private / "song.flac").write_bytes(bytes(range(256)) * 4)
    (work / "media" / "public").mkdir()
    (work / "media" / "public" / "cover.txt").write_text("cover")
    for folder in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (work / "spool" / folder).mkdir(parents=True)

    upstream = ThreadingHTTPServer(("127.0.0.1", 0), StandIn)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    port = free_port()
    server, proxy = readme_blocks()
    server = replace(server, "server 127.0.0.1:8000;", f"server 127.0.0.1:{upstream.server_port};")
    server = replace(server, "listen 443 ssl;", f"listen 127.0.0.1:{port};")
    server = replace(server, "/srv/echoppe/media/", f"{work}/media/")
    server = replace(server, "/etc/nginx/echoppe_proxy.conf", f"{work}/echoppe_proxy.conf")
    (work / "echoppe_proxy.conf").write_text(proxy)
    # Started as root, nginx's workers would become `nobody`, who cannot read a test's files.
    user = "user root root;" if os.geteuid() == 0 else ""
    temp = "".join(
        f"    {kind}_temp_path {work}/spool/{folder};\n"
        for kind, folder in (
            ("client_body", "body"),
            ("proxy", "proxy"),
            ("fastcgi", "fastcgi"),
            ("uwsgi", "uwsgi"),
            ("scgi", "scgi"),
        )
    )
    (work / "nginx.conf").write_text(
        f"worker_processes 1;\npid {work}/nginx.pid;\nerror_log {work}/error.log warn;\n"
        f"daemon off;\n{user}\nevents {{ worker_connections 64; }}\n"
        f"http {{\n    access_log off;\n{temp}{server}\n}}\n"
    )
    check = subprocess.run(
        [str(NGINX), "-t", "-p", str(work), "-c", str(work / "nginx.conf")],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stderr
    process = subprocess.Popen(
        [str(NGINX), "-p", str(work), "-c", str(work / "nginx.conf")],
        stderr=subprocess.PIPE,
    )
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    yield port
    process.terminate()
    process.wait(timeout=10)
    upstream.shutdown()


def send(port: int, method: str, path: str, *, size: int, declared_only: bool = False):
    """`size` bytes to `path`; `declared_only` announces them and sends none."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Content-Length": str(size), "Content-Type": "application/octet-stream"}
    if declared_only:
        headers["X-Probe"] = "early"
    conn.putrequest(method, path)
    for name, value in headers.items():
        conn.putheader(name, value)
    conn.endheaders()
    if not declared_only:
        block = b"x" * MiB
        left = size
        while left:
            conn.send(block[: min(left, MiB)])
            left -= min(left, MiB)
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response.status, body


# Each route, with the largest body the app itself lets a seller send there.
ROUTES = [
    ("POST", "/checkout/", settings.REQUEST_MAX_BYTES),
    ("POST", "/accounts/login/", settings.REQUEST_MAX_BYTES),
    ("PATCH", "/sell/uploads/5f0c/", CHUNK_MAX_BYTES),
    ("POST", "/sell/products/new/", settings.REQUEST_MAX_BYTES_IMAGES + MULTIPART_MARGIN),
    ("POST", "/sell/products/12/", settings.REQUEST_MAX_BYTES_IMAGES + MULTIPART_MARGIN),
    ("POST", "/sell/profile/", settings.REQUEST_MAX_BYTES_IMAGES + MULTIPART_MARGIN),
]
# Too large to send in a test: announced, and nginx must not refuse the announcement.
LARGE_ROUTES = [
    ("POST", "/sell/products/12/files/", settings.UPLOAD_MAX_BYTES + MULTIPART_MARGIN),
    ("POST", "/sell/imports/", ZIP_MAX_BYTES + MULTIPART_MARGIN),
    ("POST", "/admin/catalog/productfile/3/change/", settings.UPLOAD_MAX_BYTES + MULTIPART_MARGIN),
]


@pytest.mark.parametrize(("method", "path", "allowed"), ROUTES)
def test_each_location_passes_what_the_app_accepts_and_refuses_more(nginx, method, path, allowed):
    status, body = send(nginx, method, path, size=allowed)
    assert status == 200, body[:200]
    assert json.loads(body) == {"received": allowed}
    # Past the app's own limit (and its margin) nginx answers first.
    too_much = allowed + MULTIPART_MARGIN + 1
    before = len(StandIn.seen)
    status, body = send(nginx, method, path, size=too_much, declared_only=True)
    assert status == 413, body[:200]
    assert b"nginx" in body and len(StandIn.seen) == before  # the app never saw it


@pytest.mark.parametrize(("method", "path", "allowed"), LARGE_ROUTES)
def test_file_routes_take_a_whole_upload(nginx, method, path, allowed):
    status, body = send(nginx, method, path, size=allowed, declared_only=True)
    assert status == 200, body[:200]
    assert json.loads(body) == {"declared": allowed}
    # Bodies pass through as they arrive, and a real one of a few chunks gets there whole.
    status, body = send(nginx, method, path, size=40 * MiB)
    assert status == 200 and json.loads(body) == {"received": 40 * MiB}
    status, _ = send(nginx, method, path, size=allowed + 2 * MULTIPART_MARGIN, declared_only=True)
    assert status == 413


def test_a_paid_file_is_served_by_nginx_after_the_app_said_so(nginx):
    conn = http.client.HTTPConnection("127.0.0.1", nginx, timeout=10)
    conn.request("GET", "/download/any-link/", headers={"Range": "bytes=10-19"})
    response = conn.getresponse()
    body = response.read()
    assert response.status == 206
    assert body == (bytes(range(256)) * 4)[10:20]
    assert response.getheader("Content-Range") == "bytes 10-19/1024"
    assert response.getheader("Content-Type") == "audio/flac"
    assert response.getheader("Content-Disposition") == 'attachment; filename="song.flac"'
    assert response.getheader("X-Content-Type-Options") == "nosniff"
    # The internal location is not a public one.
    conn.request("GET", "/_protected/ab/song.flac")
    response = conn.getresponse()
    response.read()
    assert response.status == 404
    # Public media is served from media/public/ only.
    conn.request("GET", "/media/cover.txt")
    response = conn.getresponse()
    assert response.status == 200 and response.read() == b"cover"
    for escape in ("/media/../private/ab/song.flac", "/media/%2e%2e/private/ab/song.flac"):
        conn.request("GET", escape)
        response = conn.getresponse()
        assert b"\x00\x01\x02" not in response.read()  # never the paid file itself
    conn.close()
