"""A request whose database connection was cut is answered, not a 500: run once more.

``CONN_HEALTH_CHECKS`` replaces a kept connection that died *between*
requests. One that dies *during* a request (a database restart, a proxy or
a failover closing it) raises ``OperationalError`` or ``InterfaceError`` in
the view; when the connection is indeed unusable, no transaction is open and
the request is safe to repeat, ``RetryOnDisconnectMiddleware`` closes it and
calls the view once more on a fresh one. Safe to repeat: GET and HEAD, and
views marked ``@retry_safe`` because their writes are idempotent by design
(checkout by its key, payment by the order's row lock). Anything else keeps
Django's 500, since running a write twice could do it twice.

For the requests it may run again, the middleware also spares the health
check's ``SELECT 1`` before the view (decision 109): a cut connection then
fails the view's first query and the view runs once more on a new one, as
for a cut during the request. That is a round trip less for every page and
download on PostgreSQL. Other requests, and any database use outside the view
(middleware above this one), keep Django's check.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, connection, connections
from django.http import HttpRequest, HttpResponse

log = logging.getLogger(__name__)

SAFE_METHODS = ("GET", "HEAD")
View = TypeVar("View", bound=Callable[..., Any])


def retry_safe(view: View) -> View:
    """Mark a view whose writes are idempotent: a cut connection may run it again."""
    view.retry_safe = True  # type: ignore[attr-defined]
    return view


# PostgreSQL's codes for a connection the server ended: class 08 (connection
# exceptions) and the shutdowns of class 57 (pg_terminate_backend, a crash, a restart).
_LOST_STATES = ("57P01", "57P02", "57P03")
_LOST_WORDS = (
    "server closed the connection",
    "terminating connection",
    "connection already closed",
    "connection is closed",
    "consuming input failed",
)


def _connection_lost(exception: Exception) -> bool:
    """Whether the error says the connection went away, whatever its state is now:
    leaving a transaction, Django rolls back, drops the dead connection and opens
    a new one (``set_autocommit``), so by the time the middleware looks the
    connection works again, though the view did fail for a lost connection."""
    cause = exception.__cause__
    state = str(getattr(cause, "sqlstate", "") or "")
    if state in _LOST_STATES or state.startswith("08"):
        return True
    text = str(exception).lower()
    return any(words in text for words in _LOST_WORDS)


def _disconnected() -> bool:
    if connection.connection is None:
        return True
    try:
        return not connection.is_usable()
    except Exception:
        return True


def _checked() -> Any:
    """This thread's connection, with the health check's flags (Django's, which the type
    stubs do not list)."""
    return connections[DEFAULT_DB_ALIAS]


def _repeatable(request: HttpRequest, view: Callable[..., Any]) -> bool:
    return request.method in SAFE_METHODS or getattr(view, "retry_safe", False)


class RetryOnDisconnectMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if getattr(request, "db_check_spared", False):
            # Whatever runs after the view (a session saved on the way out) checks again.
            _checked().health_check_done = False
        return response

    def process_view(
        self,
        request: HttpRequest,
        view: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> None:
        db = _checked()
        if _repeatable(request, view) and db.health_check_enabled and not db.health_check_done:
            db.health_check_done = True
            request.db_check_spared = True  # type: ignore[attr-defined]

    def process_exception(self, request: HttpRequest, exception: Exception) -> Any:
        if not isinstance(exception, (OperationalError, InterfaceError)):
            return None
        match = request.resolver_match
        if match is None or getattr(request, "db_retried", False):
            return None
        if not _repeatable(request, match.func):
            return None
        if connection.in_atomic_block or not (_disconnected() or _connection_lost(exception)):
            return None  # a real error of the query, or a transaction that cannot be redone
        log.warning(
            "Database connection lost during %s %s; trying once more",
            request.method,
            request.path,
            exc_info=exception,
        )
        connection.close()
        request.db_retried = True  # type: ignore[attr-defined]
        return match.func(request, *match.args, **match.kwargs)
