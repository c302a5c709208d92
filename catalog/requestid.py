"""A request id for every log line: taken from ``X-Request-ID`` or made here.

``RequestIdMiddleware`` reads the header a proxy set (nginx's ``$request_id``
in docs/deploy/), or makes one, answers with it, and keeps it in a context
variable for the log records of the request; durable tasks store it with
their row and put it back while they run, so a receipt's log lines carry the
id of the checkout that paid for it. ``RequestIdFilter`` adds it to every
record as ``request_id``; ``JsonFormatter`` writes one JSON object a line
(``LOG_FORMAT=json``).
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import re
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

from django.http import HttpRequest, HttpResponse

HEADER = "X-Request-ID"
# What a proxy may hand over: printable, short, no spaces (it is echoed in a header).
_ACCEPTED = re.compile(r"[A-Za-z0-9._:-]{1,64}")

current: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")


def request_id_new() -> str:
    return uuid.uuid4().hex


@contextlib.contextmanager
def request_id_set(value: str) -> Iterator[None]:
    token = current.set(value)
    try:
        yield
    finally:
        current.reset(token)


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        given = request.headers.get(HEADER, "")
        value = given if _ACCEPTED.fullmatch(given) else request_id_new()
        request.request_id = value  # type: ignore[attr-defined]
        with request_id_set(value):
            response = self.get_response(request)
        response[HEADER] = value
        return response


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current.get()
        return True


# Attributes every LogRecord has; the rest were passed in ``extra=`` and are kept.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "request_id",
}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, extras, traceback."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", "") or current.get()
        if request_id:
            entry["request_id"] = request_id
        for name, value in vars(record).items():
            if name not in _STANDARD and not name.startswith("_"):
                entry[name] = value if isinstance(value, (str, int, float, bool)) else repr(value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)
