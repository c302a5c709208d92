"""Functions run in the inspection sandbox by tests/catalog/test_inspection_sandbox.py.

The child process imports this module by name, so it stays light: no pytest,
no Django.
"""

from __future__ import annotations

import os
import sys
import threading

from catalog.inspection import MediaRefused


def hang() -> None:
    threading.Event().wait()  # never set: only the deadline ends it


def hoard() -> bytes:
    return b"x" * (512 * 1024 * 1024)


def crash() -> None:
    os.abort()


def write_file(path: str) -> None:
    with open(path, "wb") as handle:
        handle.write(b"x" * 10_000)


CHATTER = ("child-stdout-3f9c", "child-stderr-3f9c", "child-fd2-3f9c")


def chatter() -> str:
    print(CHATTER[0])
    print(CHATTER[1], file=sys.stderr)
    os.write(2, CHATTER[2].encode() + b"\n")
    raise ValueError("a reader bug")


def refuse() -> None:
    raise MediaRefused("No, and here is why.")
