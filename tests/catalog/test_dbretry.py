"""A cut database connection during a request: safe requests run once more."""

from __future__ import annotations

import pytest
from django.db import OperationalError, connection, transaction
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import ResolverMatch

from catalog.dbretry import RetryOnDisconnectMiddleware, retry_safe

pytestmark = pytest.mark.django_db


def _request(method: str, view) -> object:
    request = getattr(RequestFactory(), method.lower())("/somewhere/")
    request.resolver_match = ResolverMatch(view, (), {})
    return request


class Flaky:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, request) -> HttpResponse:
        self.calls += 1
        return HttpResponse("fresh")


@pytest.fixture
def cut(monkeypatch):
    """The connection is gone: Django's own check says so."""
    monkeypatch.setattr(connection, "is_usable", lambda: False)


def _handle(request):
    middleware = RetryOnDisconnectMiddleware(lambda r: HttpResponse())
    return middleware.process_exception(
        request, OperationalError("server closed the connection unexpectedly")
    )


@pytest.mark.django_db(transaction=True)
def test_a_get_whose_connection_was_cut_runs_once_more(cut):
    view = Flaky()
    request = _request("GET", view)
    response = _handle(request)
    assert response.content == b"fresh" and view.calls == 1
    # Twice cut: Django's 500, not a loop.
    assert _handle(request) is None and view.calls == 1


@pytest.mark.django_db(transaction=True)
def test_a_post_is_not_repeated_unless_its_view_is_idempotent(cut):
    plain = Flaky()
    assert _handle(_request("POST", plain)) is None and plain.calls == 0
    marked = retry_safe(Flaky())
    assert _handle(_request("POST", marked)).content == b"fresh"


@pytest.mark.django_db(transaction=True)
def test_an_error_of_a_working_connection_is_not_retried(monkeypatch):
    monkeypatch.setattr(connection, "is_usable", lambda: True)
    connection.ensure_connection()
    view = Flaky()
    assert _handle(_request("GET", view)) is None and view.calls == 0


@pytest.mark.django_db(transaction=True)
def test_nothing_is_repeated_inside_a_transaction(cut):
    view = Flaky()
    with transaction.atomic():
        assert _handle(_request("GET", view)) is None and view.calls == 0


def test_checkout_and_payment_are_marked_idempotent():
    from shop import views

    assert views.checkout.retry_safe and views.test_pay.retry_safe
