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
    middleware = RetryOnDisconnectMiddleware(lambda r: HttpResponse())
    error = OperationalError("canceling statement due to statement timeout")
    assert middleware.process_exception(_request("GET", view), error) is None
    assert view.calls == 0


@pytest.mark.django_db(transaction=True)
def test_nothing_is_repeated_inside_a_transaction(cut):
    view = Flaky()
    with transaction.atomic():
        assert _handle(_request("GET", view)) is None and view.calls == 0


def test_checkout_and_payment_are_marked_idempotent():
    from shop import views

    assert views.checkout.retry_safe and views.test_pay.retry_safe


class _AdminShutdown(Exception):
    sqlstate = "57P01"  # what psycopg raises for pg_terminate_backend


@pytest.mark.django_db(transaction=True)
def test_a_connection_lost_inside_a_transaction_is_retried_though_django_reopened_it(
    monkeypatch,
):
    # Leaving the failed transaction, Django dropped the dead connection and opened a
    # new one: the connection works, yet the view failed because the old one was cut.
    monkeypatch.setattr(connection, "is_usable", lambda: True)
    connection.ensure_connection()
    view = retry_safe(Flaky())
    request = _request("POST", view)
    error = OperationalError("terminating connection due to administrator command")
    error.__cause__ = _AdminShutdown()
    middleware = RetryOnDisconnectMiddleware(lambda r: HttpResponse())
    assert middleware.process_exception(request, error).content == b"fresh"


@pytest.mark.django_db(transaction=True)
def test_a_real_cut_during_a_payment_is_paid_once(client, monkeypatch):
    """pg_terminate_backend in the middle of the payment's transaction, on PostgreSQL."""
    if connection.vendor != "postgresql":
        pytest.skip("a connection to cut: PostgreSQL only")
    import psycopg

    from shop import services
    from shop.models import Order
    from tests.factories import ProductFactory
    from tests.helpers import start_checkout

    start_checkout(client, ProductFactory(price=700))
    order = Order.objects.get()
    original, cuts = services.invoice_issue, []

    def cut_then_issue(**kwargs):
        if not cuts:
            pid = connection.connection.info.backend_pid
            params = connection.get_connection_params()
            with psycopg.connect(**params, autocommit=True) as other:
                other.execute("SELECT pg_terminate_backend(%s)", [pid])
            cuts.append(pid)
        return original(**kwargs)

    monkeypatch.setattr(services, "invoice_issue", cut_then_issue)
    response = client.post(f"/pay/test/{order.public_id}/", {"outcome": "pay"})
    assert cuts and response.status_code in (302, 303), response.content[:500]
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert order.items.get().entitlement is not None
