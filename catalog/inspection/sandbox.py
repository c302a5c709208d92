"""Run a reader in a child process with a wall-clock deadline and a memory ceiling.

Parsers of hostile files can loop, recurse, allocate gigabytes or crash in C.
Each inspection therefore runs in its own short-lived process, forked from a
`multiprocessing` fork server that has imported the readers once (so a child
starts in milliseconds and never inherits the threads, sockets or database
connections of the web process). In the child:

* `RLIMIT_AS` caps the address space at what the fork server already uses plus
  `Limits.memory_bytes`: an allocation past it raises MemoryError;
* `RLIMIT_CPU` backs up the parent's wall-clock deadline, `RLIMIT_FSIZE = 0`
  forbids writing files, `RLIMIT_CORE = 0` keeps crashes from dumping core
  (`RLIMIT_NPROC` is left alone: it counts every process and thread of the
  user, so any value low enough to matter would stop decoders' threads);
* stdout and stderr point to /dev/null, so no library can print on the caller's
  terminal.

The parent waits at most `Limits.seconds`, then kills the child. Outcomes come
back over a pipe as `("ok", value)` or a refusal; anything else (a crash, a
kill) becomes a `MediaRefused` with a reason written for a person.
"""

from __future__ import annotations

import logging
import math
import multiprocessing
import os
import resource
import signal
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, TypeVar, cast

from django.utils.translation import gettext_noop

from catalog.inspection.types import MediaRefused

logger = logging.getLogger(__name__)

T = TypeVar("T")

TOO_LONG = gettext_noop(
    "This file took too long to read (more than %(seconds)s seconds); it may be damaged."
)
TOO_BIG = gettext_noop(
    "This file needs too much memory to read; it may be damaged or crafted to exhaust memory."
)
CRASHED = gettext_noop(
    "The reader stopped on this file: it is damaged or crafted to attack readers."
)

# Imported once by the fork server, so each child starts with the readers loaded.
# "__main__" too: multiprocessing re-runs the main script in every child unless
# the server already imported it (scripts that start inspections must use the
# `if __name__ == "__main__":` guard, as manage.py, pytest and gunicorn do).
PRELOAD = ["__main__", "catalog.inspection.probe", "catalog.inspection.images"]


@dataclass(frozen=True, slots=True)
class Limits:
    seconds: float = 10.0
    memory_bytes: int = 1024 * 1024 * 1024


DEFAULT_LIMITS = Limits()

_context_lock = threading.Lock()
_context: Any = None


def _get_context() -> Any:
    global _context
    with _context_lock:
        if _context is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(PRELOAD)
            _context = context
        return _context


def _address_space_in_use() -> int:
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 256 * 1024 * 1024


def _confine(limits: Limits) -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.close(devnull)
    logging.disable(logging.CRITICAL)
    warnings.simplefilter("ignore")
    seconds = math.ceil(limits.seconds) + 1
    ceiling = _address_space_in_use() + limits.memory_bytes
    for limit, value in (
        (resource.RLIMIT_CORE, 0),
        (resource.RLIMIT_FSIZE, 0),
        (resource.RLIMIT_CPU, seconds),
        (resource.RLIMIT_AS, ceiling),
    ):
        resource.setrlimit(limit, (value, value))


def _child(
    connection: Connection,
    function: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    limits: Limits,
) -> None:
    outcome: tuple[str, Any]
    try:
        _confine(limits)
        outcome = ("ok", function(*args, **kwargs))
    except MediaRefused as refused:
        outcome = ("refused", (refused.message, refused.params))
    except MemoryError:
        outcome = ("memory", None)
    except RecursionError:
        outcome = (
            "refused",
            (gettext_noop("This file is nested too deeply to read; it may be crafted."), {}),
        )
    except Exception as error:  # a bug in a reader: reported, never printed
        outcome = ("error", f"{type(error).__name__}: {str(error)[:300]}")
    try:
        connection.send(outcome)
    except MemoryError:
        connection.send(("memory", None))
    finally:
        connection.close()


def run_bounded(
    function: Callable[..., T], *args: Any, limits: Limits = DEFAULT_LIMITS, **kwargs: Any
) -> T:
    """`function(*args, **kwargs)` in a confined child; its value, or MediaRefused.

    `function` must be importable by name (a module-level function) and its
    arguments and result picklable.
    """
    context = _get_context()
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(
        target=_child, args=(sender, function, args, kwargs, limits), daemon=True
    )
    process.start()
    sender.close()
    outcome: tuple[str, Any] = ("crashed", None)
    try:
        if not receiver.poll(limits.seconds):
            outcome = ("timeout", None)
        else:
            try:
                outcome = receiver.recv()
            except (EOFError, OSError):
                outcome = ("crashed", None)
    finally:
        receiver.close()
        if process.is_alive():
            process.kill()
        process.join()
    status, value = outcome
    if status == "ok":
        return cast(T, value)
    if status == "refused":
        message, params = cast(tuple[str, dict[str, object]], value)
        raise MediaRefused(message, params)
    if status == "memory":
        raise MediaRefused(TOO_BIG)
    if status == "timeout" or process.exitcode == -signal.SIGXCPU:
        raise MediaRefused(TOO_LONG, {"seconds": format(limits.seconds, "g")})
    if status == "error":
        logger.warning("Media reader failed unexpectedly: %s", value)
        raise MediaRefused(
            gettext_noop("This file could not be read: the reader failed on it unexpectedly.")
        )
    logger.warning("Media reader exited with code %s", process.exitcode)
    raise MediaRefused(CRASHED)
