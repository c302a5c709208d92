"""Media inspection: what a file is and what it says about itself, read from its content.

Pure functions, no ORM: a path (or bytes) in, an `Inspection` or a
`MediaRefused` out. The public entry points run the readers in a child process
bounded in time and memory (`sandbox`), so a hostile file costs at most
`Limits.seconds` and `Limits.memory_bytes`:

* `inspect_path(path, claimed_name=..., claimed_type=...)` — any file;
* `image_renditions(source, mime)` — the WebP and JPEG sizes pages show;
* `claim_mismatch(mime, filename=..., content_type=...)` — a message when the
  name or Content-Type contradicts the content (no child needed);
* `describe_path(path)` — the JSON object `manage.py inspect_media` prints for
  one path: `{"path", "ok": true, "kind", "mime", "size_bytes", "sha256", ...}`
  or `{"path", "ok": false, "error"}`.

`catalog.inspection.probe.inspect_file` is the same inspection unbounded,
for tests and for code that already runs in a confined process.

The readers (mutagen, Pillow, pypdf) are imported on the first inspection, not
when Django starts: the fork server has its own copy loaded anyway.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from typing import Any

from catalog.inspection.claims import claim_mismatch
from catalog.inspection.sandbox import DEFAULT_LIMITS, Limits, run_bounded
from catalog.inspection.types import (
    RENDITION_SIZES,
    CoverArt,
    Inspection,
    MediaRefused,
    Rendition,
)
from catalog.media import sha256_and_size

__all__ = [
    "DEFAULT_LIMITS",
    "CoverArt",
    "Inspection",
    "Limits",
    "MediaRefused",
    "Rendition",
    "claim_mismatch",
    "describe_path",
    "image_renditions",
    "inspect_path",
]


def inspect_path(
    path: str | os.PathLike[str],
    *,
    claimed_name: str | None = None,
    claimed_type: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> Inspection:
    """Inspect the file at `path` in a confined child process. Raises MediaRefused."""
    from catalog.inspection.probe import inspect_file

    return run_bounded(
        inspect_file,
        os.path.abspath(path),
        claimed_name=claimed_name,
        claimed_type=claimed_type,
        limits=limits,
    )


def image_renditions(
    source: str | os.PathLike[str] | bytes,
    mime: str,
    *,
    sizes: Iterable[int] = RENDITION_SIZES,
    square: bool = False,
    limits: Limits = DEFAULT_LIMITS,
) -> list[Rendition]:
    """WebP and JPEG renditions of an image (see `images.make_renditions`), made in a child."""
    from catalog.inspection import images

    if not isinstance(source, bytes):
        source = os.path.abspath(source)
    return run_bounded(
        images.make_renditions, source, mime, sizes=tuple(sizes), square=square, limits=limits
    )


def printable(text: str) -> str:
    """A path or name as valid UTF-8 (undecodable bytes of a file name become U+FFFD)."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def describe_path(path: str, *, limits: Limits = DEFAULT_LIMITS) -> dict[str, Any]:
    """Judge one path: a description of the file, or why it cannot be accepted."""
    shown = printable(path)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return {"path": shown, "ok": False, "error": "No such file."}
    except OSError as error:
        return {"path": shown, "ok": False, "error": f"Cannot read this path: {error.strerror}."}
    if stat.S_ISDIR(mode):
        return {"path": shown, "ok": False, "error": "This is a directory, not a file."}
    if not stat.S_ISREG(mode):
        return {"path": shown, "ok": False, "error": "This is not a regular file."}
    try:
        with open(path, "rb") as handle:
            digest, size = sha256_and_size(handle)
    except OSError as error:
        return {"path": shown, "ok": False, "error": f"Cannot read this file: {error.strerror}."}
    try:
        found = inspect_path(path, claimed_name=printable(os.path.basename(path)), limits=limits)
    except MediaRefused as refused:
        return {"path": shown, "ok": False, "error": refused.reason}
    return {
        "path": shown,
        "ok": True,
        "kind": found.kind,
        "mime": found.mime,
        "size_bytes": size,
        "sha256": digest,
        **found.details(),
    }
