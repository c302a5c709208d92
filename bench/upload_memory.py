"""Upload memory benchmark: a 2 GiB file through the real upload path, and what it costs.

Starts the app under gunicorn on loopback (as in the Procfile: one gthread
worker), with its own SQLite database and media root in a temporary directory
that it deletes afterwards, logs in as a seller made through the real services,
then sends a 2 GiB WAV file

1. through the resumable protocol (``catalog/uploads/``: 8 MiB PATCH chunks,
   then ``finish``, which hashes and inspects the stored file), and
2. through the plain form without JavaScript (one multipart POST, Django's
   own upload handlers spooling to a temporary file),

reading the gunicorn worker's resident memory from ``/proc`` before each
upload (baseline) and its peak (``VmHWM``, reset through ``clear_refs``)
after. The baseline for speed is the raw disk write of the same 2 GiB in the
same run (8 MiB blocks, no fsync: like the upload, it lands in the page
cache), so the ratio says how much of the disk's speed the upload path keeps.

Usage::

    python bench/upload_memory.py [--gib 2]

It checks ``df`` first (it needs about 4.5 times the file size free) and
exits non-zero when the worker's memory grows by more than 64 MiB during an
upload: a path that held the file in memory would grow by gigabytes.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from http.client import HTTPConnection
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
MIB = 1024 * 1024
CHUNK = 8 * MIB
TARGET_GROWTH_MIB = 64
PASSWORD = "bench-seller-password"  # noqa: S105 - a throwaway account in a temp database


def say(message: str) -> None:
    print(f"· {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def proc_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} for {pid}")


def reset_peak(pid: int) -> None:
    # Writing 5 to clear_refs resets VmHWM to the current RSS (Linux >= 4.0).
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def worker_pid(master: int) -> int:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.1)
    raise RuntimeError("gunicorn started no worker")


def make_wav(path: Path, size: int) -> None:
    """A valid PCM WAV of exactly `size` bytes (noise), written in 8 MiB blocks."""
    data = size - 44
    header = b"RIFF" + struct.pack("<I", 36 + data) + b"WAVE"
    header += b"fmt " + struct.pack("<IHHIIHH", 16, 1, 2, 48000, 48000 * 4, 4, 16)
    header += b"data" + struct.pack("<I", data)
    block = os.urandom(CHUNK)
    with open(path, "wb") as out:
        out.write(header)
        left = data
        while left:
            step = min(left, CHUNK)
            out.write(block[:step])
            left -= step


def disk_write(path: Path, size: int) -> float:
    block = os.urandom(CHUNK)
    started = time.perf_counter()
    with open(path, "wb") as out:
        left = size
        while left:
            step = min(left, CHUNK)
            out.write(block[:step])
            left -= step
    elapsed = time.perf_counter() - started
    path.unlink()
    return elapsed


class Sampler(threading.Thread):
    """Polls the worker's RSS; VmHWM is the authority, this only double-checks it."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.running = pid, 0, True

    def run(self) -> None:
        while self.running:
            self.peak = max(self.peak, proc_kib(self.pid, "VmRSS"))
            time.sleep(0.02)

    def stop(self) -> int:
        self.running = False
        self.join()
        return self.peak


class Session:
    """A logged-in browser, reduced to cookies and the CSRF token."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}

    def conn(self) -> HTTPConnection:
        return HTTPConnection("127.0.0.1", self.port, timeout=600, blocksize=MIB)

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        cookie = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        base = {"Cookie": cookie, "X-CSRFToken": self.cookies.get("csrftoken", "")}
        base["Referer"] = f"http://127.0.0.1:{self.port}/"
        return {**base, **(extra or {})}

    def request(self, method: str, path: str, body=None, headers=None) -> tuple[int, bytes]:
        conn = self.conn()
        conn.request(method, path, body=body, headers=self.headers(headers))
        response = conn.getresponse()
        data = response.read()
        for value in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = value.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        conn.close()
        return response.status, data

    def login(self, email: str) -> None:
        status, page = self.request("GET", "/accounts/login/")
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert status == 200 and token, status
        form = f"username={email}&password={PASSWORD}&csrfmiddlewaretoken={token.group(1).decode()}"
        status, _ = self.request(
            "POST",
            "/accounts/login/",
            form.encode(),
            {"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert status == 302 and "sessionid" in self.cookies, status


def resumable_upload(session: Session, product: int, source: Path) -> tuple[float, float, dict]:
    size = source.stat().st_size
    status, body = session.request(
        "POST",
        "/sell/uploads/",
        json.dumps({"product": product, "filename": source.name, "size": size}).encode(),
        {"Content-Type": "application/json"},
    )
    assert status == 201, body
    upload = json.loads(body)
    started = time.perf_counter()
    conn = session.conn()
    with open(source, "rb") as handle:
        offset = 0
        while offset < size:
            chunk = handle.read(upload["chunk_size"])
            conn.request(
                "PATCH",
                upload["urls"]["self"],
                body=chunk,
                headers=session.headers(
                    {
                        "Upload-Offset": str(offset),
                        "Content-Type": "application/offset+octet-stream",
                    }
                ),
            )
            answer = conn.getresponse()
            data = answer.read()
            assert answer.status == 200, data
            offset = json.loads(data)["offset"]
    conn.close()
    sent = time.perf_counter() - started
    started = time.perf_counter()
    status, body = session.request("POST", upload["urls"]["finish"])
    assert status == 200, body
    return sent, time.perf_counter() - started, json.loads(body)["asset"]


def form_upload(session: Session, product: int, source: Path) -> float:
    status, page = session.request("GET", f"/sell/products/{product}/files/")
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1).decode()
    boundary = "----echoppe-bench-boundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="csrfmiddlewaretoken"\r\n\r\n'
        f'{token}\r\n--{boundary}\r\nContent-Disposition: form-data; name="role"\r\n\r\n'
        f'deliverable\r\n--{boundary}\r\nContent-Disposition: form-data; name="file"; '
        f'filename="form-{source.name}"\r\nContent-Type: audio/wav\r\n\r\n'
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()

    def body() -> Iterator[bytes]:
        yield head
        with open(source, "rb") as handle:
            while block := handle.read(MIB):
                yield block
        yield tail

    length = len(head) + source.stat().st_size + len(tail)
    started = time.perf_counter()
    status, answer = session.request(
        "POST",
        f"/sell/products/{product}/files/",
        body(),
        {
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Content-Length": str(length),
        },
    )
    assert status == 302, (status, answer[:500])
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gib", type=float, default=2.0, help="file size in GiB (default 2)")
    args = parser.parse_args()
    size = int(args.gib * 1024 * MIB)

    tmp = tempfile.gettempdir()
    print(subprocess.run(["df", "-h", tmp], capture_output=True, text=True).stdout.strip())
    if shutil.disk_usage(tmp).free < 4.5 * size:
        print(f"Not enough room in /tmp for {args.gib} GiB files (needs {4.5 * args.gib:.1f} GiB).")
        return 2

    workdir = Path(tempfile.mkdtemp(prefix="echoppe-upload-bench-", dir=tmp))
    port = free_port()
    env = {
        **os.environ,
        "DEBUG": "true",
        "SECRET_KEY": "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "DATABASE_URL": f"sqlite:///{workdir / 'db.sqlite3'}",
        "MEDIA_ROOT": str(workdir / "media"),
        "EMAIL_URL": "locmem://",
        "ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
        "UPLOAD_MAX_BYTES": str(size * 2),
        "TMPDIR": str(workdir),
    }
    gunicorn = None
    try:
        say("migrating a fresh database")
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True
        )
        script = (
            "from django.utils import timezone\n"
            "from catalog.services.sellers import seller_signup\n"
            "from catalog.services.products import product_create\n"
            f"s = seller_signup(email='bench@example.com', password={PASSWORD!r}, "
            "display_name='Bench')\n"
            "s.email_verified_at = timezone.now(); s.save()\n"
            "p = product_create(seller=s, title='Big', kind='music', pricing='fixed', price=900)\n"
            "print(p.pk)\n"
        )
        product = int(
            subprocess.run(
                [sys.executable, "manage.py", "shell", "-c", script],
                cwd=ROOT,
                env=env,
                check=True,
                capture_output=True,
                text=True,
            ).stdout.split()[-1]
        )
        source = workdir / "big-upload.wav"
        say(f"writing a {args.gib} GiB WAV file")
        make_wav(source, size)
        say("measuring the raw disk write (baseline)")
        disk_seconds = disk_write(workdir / "disk-baseline.bin", size)

        gunicorn = subprocess.Popen(
            [
                str(BIN / "gunicorn"),
                "shop.wsgi",
                "--worker-class=gthread",
                "--workers=1",
                "--threads=4",
                "--timeout=600",
                f"--bind=127.0.0.1:{port}",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        worker = worker_pid(gunicorn.pid)
        session = Session(port)
        deadline = time.monotonic() + 20
        while True:
            try:
                session.login("bench@example.com")
                break
            except (ConnectionError, OSError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        # Warm up: import everything a request touches before the baseline.
        session.request("GET", f"/sell/products/{product}/files/")

        rows = []
        for name, run in (
            ("resumable (8 MiB PATCH chunks)", "resumable"),
            ("form POST (one request)", "form"),
        ):
            baseline = proc_kib(worker, "VmRSS")
            reset_peak(worker)
            sampler = Sampler(worker)
            sampler.start()
            say(f"uploading through: {name}")
            if run == "resumable":
                sent, finish, asset = resumable_upload(session, product, source)
                assert asset["size"] == size, asset
            else:
                sent, finish = form_upload(session, product, source), 0.0
            sampled = sampler.stop()
            peak = max(proc_kib(worker, "VmHWM"), sampled)
            rows.append((name, sent, finish, baseline, peak))

        print()
        print(f"Upload of a {size / MIB:,.0f} MiB file to gunicorn (1 gthread worker) on loopback")
        print(
            f"Baseline: raw disk write of the same bytes, {size / MIB / disk_seconds:,.0f} MiB/s "
            f"({disk_seconds:.1f} s)"
        )
        print()
        print(
            f"| {'path':<32} | {'bytes in':>9} | {'MiB/s':>6} | {'vs disk':>7} | {'finish':>7} "
            f"| {'RSS before':>10} | {'RSS peak':>9} | {'growth':>9} |"
        )
        print("|" + "|".join("-" * width for width in (34, 11, 8, 9, 9, 12, 11, 11)) + "|")
        worst = 0.0
        disk_speed = size / MIB / disk_seconds
        for name, sent, finish, baseline, peak in rows:
            speed = size / MIB / sent
            growth = (peak - baseline) / 1024
            worst = max(worst, growth)
            finish_text = f"{finish:.1f} s" if finish else "in POST"
            print(
                f"| {name:<32} | {sent:>7.1f} s | {speed:>6,.0f} | {speed / disk_speed:>6.0%} "
                f"| {finish_text:>7} | {baseline / 1024:>6.1f} MiB | {peak / 1024:>5.1f} MiB "
                f"| {growth:>+5.1f} MiB |"
            )
        print()
        print(
            f"Worst growth of the worker's resident memory: {worst:.1f} MiB for a "
            f"{size / MIB:,.0f} MiB file ({worst / (size / MIB):.2%} of it); "
            f"target: under {TARGET_GROWTH_MIB} MiB."
        )
        print(
            "'finish' hashes (SHA-256) and inspects the stored file, then moves it in place "
            "(a rename); the form POST does the same inside its one request."
        )
        return 0 if worst < TARGET_GROWTH_MIB else 1
    finally:
        if gunicorn is not None:
            gunicorn.send_signal(signal.SIGTERM)
            try:
                gunicorn.wait(20)
            except subprocess.TimeoutExpired:
                gunicorn.kill()
        shutil.rmtree(workdir, ignore_errors=True)
        say(f"removed {workdir}")


if __name__ == "__main__":
    sys.exit(main())
