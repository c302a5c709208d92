"""A WSGI app for tests/delivery/test_ziplayout.py: one ZIP of the files in
$ZIP_TEST_DIR, served the way ``delivery.bundles`` serves one (``parts_sent``
under gunicorn, ``parts_bytes`` elsewhere), with Range. No Django: what is
tested is the interplay of ``delivery.ziplayout`` with a real gunicorn."""

from __future__ import annotations

import os
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from delivery import ziplayout


def _members() -> list[ziplayout.Member]:
    folder = Path(os.environ["ZIP_TEST_DIR"])
    members = []
    for path in sorted(folder.iterdir()):
        data = path.read_bytes()
        members.append(
            ziplayout.Member(
                arcname=f"Album/{path.name}",
                name=str(path),
                size=len(data),
                crc32=zlib.crc32(data),
                mtime=path.stat().st_mtime,
            )
        )
    return members


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    parts = ziplayout.zip_layout(_members())
    size = ziplayout.parts_size(parts)
    status, headers = "200 OK", []
    wanted = environ.get("HTTP_RANGE", "")
    if wanted.startswith("bytes="):
        first_s, _, last_s = wanted[6:].partition("-")
        first, last = int(first_s), int(last_s or size - 1)
        parts = ziplayout.parts_range(parts, first, last - first + 1)
        status = "206 Partial Content"
        headers.append(("Content-Range", f"bytes {first}-{last}/{size}"))
        size = last - first + 1
    headers += [("Content-Type", "application/zip"), ("Content-Length", str(size))]
    sock = environ.get("gunicorn.socket")
    start_response(status, [*headers, ("X-Sent-With", "sendfile" if sock else "python")])
    if sock is not None:
        return ziplayout.parts_sent(parts, sock, lambda name: name)
    return ziplayout.parts_bytes(parts, lambda name: open(name, "rb"))
