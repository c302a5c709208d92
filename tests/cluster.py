"""A deployment of several nodes on loopback, for the two-node test and bench/load.py.

Real processes, as an operator runs them: PostgreSQL (running already; a
fresh database per cluster), Redis (running already; its own key prefix),
SeaweedFS (tests/s3server.py), N gunicorn nodes with the Procfile's options,
Debian's nginx in front of them, a ``worker`` and a ``clock``, and an SMTP
server in this process behind a small TCP relay that can hold connections
(to catch a worker in the middle of sending a mail). Every process is started
in its own session, so killing one (SIGKILL, as a crash) kills it and its
children and nothing else.
"""

from __future__ import annotations

import email
import email.policy
import os
import re
import secrets
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from tests.s3server import S3Server, free_ports

ROOT = Path(__file__).resolve().parent.parent
PG = "postgres://postgres@127.0.0.1:5432"
REDIS = ("127.0.0.1", 6379)


def psql(sql: str, database: str = "postgres") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", database, "-AtX", "-c", sql],
        capture_output=True,
        text=True,
        check=False,
    )


def missing_parts() -> str | None:
    """Why a cluster cannot start here, or None."""
    if psql("SELECT 1").returncode != 0:
        return "no PostgreSQL at 127.0.0.1:5432"
    try:
        socket.create_connection(REDIS, timeout=1).close()
    except OSError:
        return "no Redis at 127.0.0.1:6379"
    if not (shutil.which("nginx") or Path("/usr/sbin/nginx").exists()):
        return "no nginx (apt-get install nginx-light)"
    return None


# --- Mail -------------------------------------------------------------------------


@dataclass
class Mail:
    to: list[str]
    subject: str
    body: str


class Inbox:
    """aiosmtpd's handler: keeps every message, thread-safe."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.messages: list[Mail] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        part = parsed.get_body(preferencelist=("plain",))
        body = part.get_content() if part is not None else ""
        with self.lock:
            self.messages.append(Mail(list(envelope.rcpt_tos), str(parsed["subject"]), body))
        return "250 OK"

    def to(self, address: str) -> list[Mail]:
        with self.lock:
            return [m for m in self.messages if address in m.to]


class HoldingRelay:
    """TCP relay to the SMTP server; while ``hold`` is set, connections are accepted and
    left waiting for the server's greeting (a mail server that hangs)."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.hold = threading.Event()
        self.held: list[socket.socket] = []
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.hold.is_set():
                self.held.append(client)
                continue
            threading.Thread(target=self._relay, args=(client,), daemon=True).start()

    def _relay(self, client: socket.socket) -> None:
        server = socket.create_connection(("127.0.0.1", self.target))

        def pump(a: socket.socket, b: socket.socket) -> None:
            try:
                while data := a.recv(65536):
                    b.sendall(data)
            except OSError:
                pass
            finally:
                for s in (a, b):
                    with suppress(OSError):
                        s.shutdown(socket.SHUT_RDWR)

        threading.Thread(target=pump, args=(server, client), daemon=True).start()
        pump(client, server)

    def release(self) -> None:
        """Stop holding; the held connections are dropped, never relayed."""
        self.hold.clear()
        for sock in self.held:
            sock.close()
        self.held.clear()

    def close(self) -> None:
        self.listener.close()


# --- Processes --------------------------------------------------------------------


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def kill(self) -> None:
        """SIGKILL to the process and its children (its own session): a crash."""
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(10)

    def stop(self) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    def tail(self, size: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-size:] if self.log.exists() else ""


NGINX_SITE = """
worker_processes 1;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log warn;
daemon off;
{user}
events {{ worker_connections 512; }}
http {{
    access_log {work}/nginx-access.log;
    client_body_temp_path {work}/nginx-tmp/body;
    proxy_temp_path {work}/nginx-tmp/proxy;
    fastcgi_temp_path {work}/nginx-tmp/fastcgi;
    uwsgi_temp_path {work}/nginx-tmp/uwsgi;
    scgi_temp_path {work}/nginx-tmp/scgi;
    upstream echoppe {{
{servers}
        keepalive 16;
    }}
    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 64m;
        location / {{
            proxy_pass http://echoppe;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host:$server_port;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Request-ID $request_id;
            # A node that refuses the connection: the next one (the request was not sent).
            proxy_next_upstream error timeout;
            proxy_connect_timeout 2s;
        }}
    }}
}}
"""


def _nginx_user() -> str:
    if os.geteuid() != 0:
        return ""
    import grp
    import pwd

    nobody = pwd.getpwnam("nobody")
    return f"user nobody {grp.getgrgid(nobody.pw_gid).gr_name};"


def wait_http(url: str, proc: Proc | None = None, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.popen.poll() is not None:
            raise RuntimeError(f"{proc.name} exited:\n{proc.tail()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer in {timeout} s:\n{proc.tail() if proc else ''}")


@dataclass
class Cluster:
    work: Path
    s3: S3Server
    nodes: int = 2
    extra_env: dict[str, str] = field(default_factory=dict)
    database: str = field(default_factory=lambda: f"echoppe_cluster_{uuid.uuid4().hex[:8]}")
    procs: dict[str, Proc] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.node_ports = free_ports(self.nodes)
        self.front_port = free_ports(1)[0]
        self.inbox = Inbox()
        from aiosmtpd.controller import Controller

        self.smtp = Controller(self.inbox, hostname="127.0.0.1", port=free_ports(1)[0])
        self.relay: HoldingRelay | None = None
        self.env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("DJANGO_", "PYTEST_", "DATABASE_URL"))
        }
        self.env.update(
            {
                "PYTHONPATH": str(ROOT),
                "DJANGO_SETTINGS_MODULE": "shop.settings",
                "SECRET_KEY": "cluster-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
                "DEBUG": "false",
                "ALLOWED_HOSTS": "127.0.0.1,localhost",
                "SITE_URL": f"http://127.0.0.1:{self.front_port}",
                "SECURE_SSL_REDIRECT": "false",
                "SECURE_COOKIES": "false",
                "SECURE_HSTS_SECONDS": "0",
                "DATABASE_URL": f"{PG}/{self.database}",
                "DB_CONN_MAX_AGE": "60",
                "CACHE_URL": "redis://127.0.0.1:6379/3",
                "CACHE_KEY_PREFIX": self.database,
                "STORAGE": "s3",
                "S3_ENDPOINT_URL": self.s3.endpoint_url,
                "S3_ACCESS_KEY_ID": self.s3.access_key,
                "S3_SECRET_ACCESS_KEY": self.s3.secret_key,
                "S3_PRIVATE_BUCKET": self.s3.private_bucket,
                "S3_PUBLIC_BUCKET": self.s3.public_bucket,
                "DELIVERY_BACKEND": "s3",
                "TASKS_BACKEND": "database",
                "PAYMENT_PROVIDER": "test",
                "TEST_PAYMENTS_ENABLED": "true",
                "STATIC_ROOT": str(self.work / "static"),
                "LOG_FORMAT": "json",
                "LOG_LEVEL": "WARNING",
                "TRUSTED_PROXY_COUNT": "1",
                # Seconds, so that a dead worker's row comes back within the test.
                "OUTBOX_LEASE_SECONDS": "6",
                "OUTBOX_RETRY_BASE_SECONDS": "1",
                "CLOCK_SWEEP_SECONDS": "1",
                **self.extra_env,
            }
        )

    # -- life cycle --

    def start(self) -> None:
        self.work.mkdir(parents=True, exist_ok=True)
        created = psql(f"CREATE DATABASE {self.database}")
        if created.returncode != 0:
            raise RuntimeError(created.stderr)
        self.smtp.start()
        self.relay = HoldingRelay(self.smtp.port)
        self.env["EMAIL_URL"] = f"smtp://127.0.0.1:{self.relay.port}"
        self.manage("collectstatic", "--noinput", "-v", "0")

    def stop(self) -> None:
        for proc in reversed(list(self.procs.values())):
            proc.stop()
        if self.relay is not None:
            self.relay.release()
            self.relay.close()
        self.smtp.stop()
        psql(f"DROP DATABASE IF EXISTS {self.database} WITH (FORCE)")

    def manage(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)}:\n{done.stdout}\n{done.stderr}")
        return done

    def releases(self, count: int = 2) -> list[subprocess.CompletedProcess[str]]:
        """``count`` release commands at the same moment, as nodes deploying together."""
        runs = [
            subprocess.Popen(
                [sys.executable, "manage.py", "release"],
                cwd=ROOT,
                env=self.env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for _ in range(count)
        ]
        outputs = [run.communicate(timeout=300)[0] for run in runs]
        return [
            subprocess.CompletedProcess(run.args, run.returncode, output, "")
            for run, output in zip(runs, outputs, strict=True)
        ]

    def _spawn(self, name: str, command: list[str]) -> Proc:
        log = self.work / f"{name}.log"
        with open(log, "ab") as out:
            popen = subprocess.Popen(
                command,
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        proc = Proc(name, popen, log)
        self.procs[name] = proc
        return proc

    def start_node(self, index: int, *, workers: int = 2) -> Proc:
        port = self.node_ports[index]
        proc = self._spawn(
            f"node{index}",
            [
                sys.executable,
                "-m",
                "gunicorn",
                "shop.wsgi",
                "--worker-class",
                "gthread",
                "--workers",
                str(workers),
                "--threads",
                "4",
                "--timeout",
                "60",
                "--forwarded-allow-ips",
                "127.0.0.1",
                "--access-logfile",
                "-",
                "--access-logformat",
                '%(h)s "%(r)s" %(s)s %(b)s %(M)sms rid=%({x-request-id}o)s',
                "--bind",
                f"127.0.0.1:{port}",
            ],
        )
        wait_http(f"{self.node_url(index)}/healthz", proc)
        return proc

    def start_worker(self, name: str = "worker") -> Proc:
        return self._spawn(
            name,
            [sys.executable, "manage.py", "worker", "--interval", "0.2", "--no-startup-delay"],
        )

    def start_clock(self) -> Proc:
        return self._spawn("clock", [sys.executable, "manage.py", "clock", "--no-rollup"])

    def start_nginx(self) -> Proc:
        (self.work / "nginx-tmp").mkdir(exist_ok=True)
        servers = "\n".join(
            f"        server 127.0.0.1:{port} max_fails=1 fail_timeout=3s;"
            for port in self.node_ports
        )
        conf = self.work / "nginx.conf"
        conf.write_text(
            NGINX_SITE.format(
                work=self.work, user=_nginx_user(), servers=servers, port=self.front_port
            )
        )
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        proc = self._spawn("nginx", [nginx, "-c", str(conf), "-p", str(self.work)])
        wait_http(f"{self.front_url}/healthz", proc)
        return proc

    # -- addresses and state --

    def node_url(self, index: int) -> str:
        return f"http://127.0.0.1:{self.node_ports[index]}"

    @property
    def front_url(self) -> str:
        return f"http://127.0.0.1:{self.front_port}"

    def sql(self, query: str) -> list[list[str]]:
        done = psql(query, self.database)
        if done.returncode != 0:
            raise RuntimeError(done.stderr)
        return [line.split("|") for line in done.stdout.splitlines() if line]

    def count(self, query: str) -> int:
        return int(self.sql(query)[0][0])

    def wait_for(self, what: str, check: Callable[[], bool], timeout: float = 60) -> float:
        began = time.monotonic()
        while not check():
            if time.monotonic() - began > timeout:
                logs = "\n".join(f"--- {p.name}\n{p.tail(1500)}" for p in self.procs.values())
                raise AssertionError(f"{what}: not within {timeout} s\n{logs}")
            time.sleep(0.2)
        return time.monotonic() - began


@contextmanager
def running_cluster(work: Path, s3: S3Server, **options: Any) -> Iterator[Cluster]:
    cluster = Cluster(work=work, s3=s3, **options)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


# --- Visitors ---------------------------------------------------------------------


class Browser:
    """One visitor: cookies shared by every node (sessions live in the database)."""

    def __init__(self) -> None:
        self.http = requests.Session()

    def get(self, url: str, **options: object) -> requests.Response:
        return self.http.get(url, timeout=30, **options)  # type: ignore[arg-type]

    def post(self, url: str, data: dict[str, str], **options: object) -> requests.Response:
        token = self.http.cookies.get("csrftoken", "")
        return self.http.post(
            url,
            data=data,
            headers={"X-CSRFToken": token},
            timeout=30,
            allow_redirects=False,
            **options,  # type: ignore[arg-type]
        )


def patient(send, *, tries: int = 10) -> tuple[requests.Response, int]:
    """What a buyer's browser does on an error page: send the same form again."""
    retries = 0
    while True:
        try:
            response = send()
        except requests.ConnectionError:
            response = None
        if response is not None and response.status_code < 500:
            return response, retries
        retries += 1
        if retries >= tries:
            raise AssertionError(f"gave up after {tries} tries: {response}")
        time.sleep(0.3)


def buy(
    cluster: Cluster,
    base_checkout: str,
    base_pay: str,
    product: dict,
    email: str,
    *,
    browser: Browser | None = None,
) -> tuple[Browser, str, int]:
    """Checkout on one address, pay on another: (the buyer, the receipt's path, resends)."""
    buyer = browser or Browser()
    patient(lambda: buyer.get(base_checkout + product["path"]))
    key = secrets.token_urlsafe(24)
    checkout, retried = patient(
        lambda: buyer.post(
            f"{base_checkout}/checkout/{product['id']}/", {"email": email, "checkout_key": key}
        )
    )
    assert checkout.status_code == 302, checkout.text[:500]
    pay_path = checkout.headers["Location"]
    paid, retried_pay = patient(
        lambda: buyer.post(base_pay + pay_path, {"outcome": "pay"}),
    )
    assert paid.status_code == 302, paid.text[:500]
    return buyer, paid.headers["Location"], retried + retried_pay


def wav(size: int = 6000) -> bytes:
    """A small valid WAV file, different bytes at every position."""
    data = bytes((i * 7) % 256 for i in range(size))
    header = b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVEfmt "
    header += struct.pack("<IHHIIHH", 16, 1, 1, 8000, 8000, 1, 8) + b"data"
    return header + struct.pack("<I", len(data)) + data


def open_shop(cluster: Cluster, *, signup_on: str, upload_on: str, track: bytes) -> dict:
    """A seller signs up on one address, confirms, lists a product and uploads ``track``
    on the other, publishes on the first; returns the product's id and public path."""
    a, b = signup_on, upload_on
    seller = Browser()
    seller.get(f"{a}/sell/signup/")
    signup = seller.post(
        f"{a}/sell/signup/",
        {"email": "zoe@example.com", "password": "a-long-pass-phrase", "display_name": "Zoé"},
    )
    assert signup.status_code == 302, signup.text[:800]
    cluster.wait_for("the verification mail", lambda: cluster.inbox.to("zoe@example.com"))
    link = re.search(r"(/sell/verify/[^\s]+/)", cluster.inbox.to("zoe@example.com")[0].body)
    assert link and seller.get(b + link.group(1)).status_code == 200
    seller.get(f"{b}/sell/products/new/")
    created = seller.post(
        f"{b}/sell/products/new/",
        {
            "title": "Night Trains",
            "slug": "",
            "kind": "music",
            "description": "Four tracks.",
            "currency": "EUR",
            "pricing": "fixed",
            "price": "4",
            "status": "draft",
            "tags": "",
        },
    )
    assert created.status_code == 302, created.text[:800]
    product_id = int(cluster.sql("SELECT id FROM catalog_product")[0][0])
    uploaded = seller.post(
        f"{b}/sell/products/{product_id}/files/",
        {"role": "deliverable"},
        files={"file": ("01.wav", track, "audio/wav")},
    )
    assert uploaded.status_code == 302, uploaded.text[:800]
    published = seller.post(f"{a}/sell/products/{product_id}/status/", {"status": "published"})
    assert published.status_code == 302, published.text[:800]
    slug, seller_slug = cluster.sql(
        "SELECT p.slug, s.slug FROM catalog_product p JOIN catalog_seller s ON s.id = p.seller_id"
    )[0]
    product = {"id": product_id, "path": f"/@{seller_slug}/{slug}/"}
    assert requests.get(cluster.front_url + product["path"], timeout=10).status_code == 200
    return product
