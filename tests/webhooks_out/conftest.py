"""A real HTTP receiver on 127.0.0.1 (a threaded ``http.server``), and sellers with endpoints."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from catalog.models import Seller
from shop.webhooks_out.models import Endpoint
from shop.webhooks_out.services import endpoint_create
from tests.factories import SellerFactory


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    url: str
    # What to answer, in turn; the last one is repeated.
    answers: list[tuple[int, dict[str, str], bytes]] = field(
        default_factory=lambda: [(200, {}, b"ok")]
    )
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, status: int, body: bytes = b"", **headers: str) -> None:
        self.answers = [(status, headers, body)]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    box: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            me = box["r"]
            with me.lock:
                me.received.append(Received(self.path, dict(self.headers.items()), body))
                status, headers, text = me.answers[0] if len(me.answers) == 1 else me.answers.pop(0)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(text)))
            self.end_headers()
            self.wfile.write(text)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    box["r"] = Receiver(url=f"http://127.0.0.1:{server.server_address[1]}/hooks")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield box["r"]
    server.shutdown()
    server.server_close()


@dataclass
class Hooked:
    seller: Seller
    endpoint: Endpoint
    secret: str


def hooked(url: str, events: list[str] | None = None, seller: Seller | None = None) -> Hooked:
    seller = seller or SellerFactory()
    endpoint, secret = endpoint_create(
        seller=seller, url=url, events=events or ["sale.created"], description="tests"
    )
    return Hooked(seller, endpoint, secret)
