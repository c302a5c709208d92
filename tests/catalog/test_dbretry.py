"""A cut database connection during a request: safe requests run once more."""

from __future__ import annotations

import pytest
from django.db import DEFAULT_DB_ALIAS, OperationalError, connection, connections, transaction
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


class _Pings:
    """Counts Django's health checks (``is_usable``), answering as the real one; ``begin``
    leaves the connection as ``close_old_connections`` does at a request's start (the test
    client does not send that signal): kept, checks on, this request's check not done."""

    def __init__(self, db) -> None:
        self.db, self.real, self.calls = db, db.is_usable, 0

    def __call__(self) -> bool:
        self.calls += 1
        return self.real()

    def begin(self) -> None:
        self.db.ensure_connection()
        self.db.health_check_enabled, self.db.health_check_done = True, False


@pytest.fixture
def checked(monkeypatch):
    db = connections[DEFAULT_DB_ALIAS]
    pings = _Pings(db)
    monkeypatch.setattr(db, "is_usable", pings)
    yield pings
    db.health_check_enabled = db.settings_dict["CONN_HEALTH_CHECKS"]


def test_a_get_spares_the_health_check_and_anything_after_its_view_checks_again(client, checked):
    from tests.factories import ProductFactory

    product = ProductFactory()
    checked.begin()
    response = client.get(f"/@{product.seller.slug}/{product.slug}/")
    assert response.status_code == 200
    assert checked.calls == 0
    # A session saved on the way out of this request would be checked first.
    assert connection.health_check_done is False


def test_a_post_keeps_the_health_check(client, checked):
    checked.begin()
    response = client.post("/accounts/login/", {"username": "nobody", "password": "x"})
    assert response.status_code in (200, 429)
    assert checked.calls == 1


@pytest.mark.django_db(transaction=True)
def test_a_connection_cut_between_requests_is_replaced_for_a_get(client, checked, caplog):
    """pg_terminate_backend while the connection waits between two requests: with no
    health check first, the view's first query fails and the view runs again."""
    if connection.vendor != "postgresql":
        pytest.skip("a connection to cut: PostgreSQL only")
    import psycopg

    from tests.factories import ProductFactory

    product = ProductFactory()
    url = f"/@{product.seller.slug}/{product.slug}/"
    checked.begin()
    pid = connection.connection.info.backend_pid
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
    response = client.get(url)
    assert response.status_code == 200, response.content[:300]
    assert product.title.encode() in response.content
    assert connection.connection.info.backend_pid != pid
    # Found by the view's first query (no check before it), and the view ran again.
    assert "Database connection lost during GET" in caplog.text
