"""A mail server that is down: every page answers as usual, and queued mail is sent later.

The failures are real: Django's SMTP backend pointed at a closed loopback
port, then at a small SMTP server (aiosmtpd) run by the test.
"""

from __future__ import annotations

import logging
import socket
from datetime import timedelta
from io import StringIO

import pytest
from aiosmtpd.controller import Controller
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from catalog import mail
from delivery.services import entitlement_grant
from tests.factories import ProductFactory, UserFactory

pytestmark = pytest.mark.django_db


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], str]] = []

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd calls it by this name
        self.messages.append((list(envelope.rcpt_tos), envelope.content.decode()))
        return "250 OK"


@pytest.fixture
def smtp_down(settings) -> int:
    """Django's SMTP backend at a loopback port where nothing listens."""
    port = _free_port()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 5
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    return port


@pytest.fixture
def bought(db):
    return entitlement_grant(email="fan@example.com", product=ProductFactory())


def test_with_the_mail_server_down_every_mail_page_answers_as_usual(
    client, smtp_down, bought, django_capture_on_commit_callbacks, caplog
):
    with (
        caplog.at_level(logging.ERROR, logger="catalog.mail"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        lost = client.post(reverse("delivery:library_request"), {"email": "fan@example.com"})
        reset = client.post(reverse("password_reset"), {"email": UserFactory().email})
        signup = client.post(
            reverse("catalog:sell_signup"),
            {
                "email": "maker@example.com",
                "password": "a-long-pass-phrase",
                "display_name": "Maker",
            },
        )
        buyer = UserFactory(email="fan@example.com")
        client.force_login(buyer)
        claim = client.post(reverse("delivery:claim_start"))
    assert lost.status_code == 200 and b"fan@example.com" in lost.content
    assert reset.status_code == 302 and reset["Location"] == reverse("password_reset_done")
    assert signup.status_code == 302
    assert claim.status_code == 200 and b"fan@example.com" in claim.content
    sent = [r.getMessage() for r in caplog.records]
    for name in (
        "send_library_link",
        "send_password_reset",
        "send_claim_link",
        "send_verification_email",
    ):
        assert any(name in line and "not sent" in line for line in sent), (name, sent)


# The worker closes its database connection when it ends, as in production.
@pytest.mark.django_db(transaction=True)
def test_a_queued_mail_is_sent_once_the_server_is_back(
    client, settings, smtp_down, bought, django_capture_on_commit_callbacks, monkeypatch
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("delivery:library_request"), {"email": "fan@example.com"})
    assert response.status_code == 200
    worker = ["worker", "--batch", "--no-startup-delay"]
    call_command(*worker, stdout=StringIO(), stderr=StringIO())  # the server is down
    waiting = DBTaskResult.objects.filter(status="READY").get()
    assert waiting.args_kwargs["kwargs"]["attempt"] == 2
    assert waiting.run_after > timezone.now() + timedelta(seconds=50)

    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        settings.EMAIL_PORT = controller.port
        call_command(*worker, stdout=StringIO(), stderr=StringIO())
        assert inbox.messages == []  # not before its time
        later = timezone.now() + timedelta(seconds=mail.RETRY_DELAYS[0] + 1)
        monkeypatch.setattr(timezone, "now", lambda: later)
        call_command(*worker, stdout=StringIO(), stderr=StringIO())
    finally:
        controller.stop()
    [(to, body)] = inbox.messages
    assert to == ["fan@example.com"]
    assert "/library/" in body
    assert not DBTaskResult.objects.filter(status="READY").exists()


# The worker closes its database connection when it ends, as in production.
@pytest.mark.django_db(transaction=True)
def test_retries_are_bounded_and_the_last_failure_is_recorded(
    client, settings, smtp_down, bought, django_capture_on_commit_callbacks, monkeypatch, caplog
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    monkeypatch.setattr(mail, "RETRY_DELAYS", (60,))
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("delivery:library_request"), {"email": "fan@example.com"})
    worker = ["worker", "--batch", "--no-startup-delay"]
    now = timezone.now()
    with caplog.at_level(logging.ERROR, logger="catalog.mail"):
        for minutes in (0, 2, 4):
            monkeypatch.setattr(timezone, "now", lambda m=minutes: now + timedelta(minutes=m))
            call_command(*worker, stdout=StringIO(), stderr=StringIO())
    assert DBTaskResult.objects.count() == 2
    assert DBTaskResult.objects.failed().count() == 1
    assert not DBTaskResult.objects.filter(status="READY").exists()
    assert "given up after 2 attempts" in caplog.text


def test_under_the_immediate_backend_a_failed_mail_waits_in_the_outbox_and_is_sent_later(
    client, settings, smtp_down, bought, django_capture_on_commit_callbacks, monkeypatch
):
    from catalog.outbox.models import OutboxTask
    from catalog.outbox.services import outbox_sweep

    # The one-machine default: tasks run in the request, and cannot be deferred.
    assert "ImmediateBackend" in settings.TASKS["default"]["BACKEND"]
    from django.utils import translation

    with translation.override("fr"):
        french = reverse("delivery:library_request")
    with django_capture_on_commit_callbacks(execute=True):
        lost = client.post(french, {"email": "fan@example.com"})
        client.post(reverse("password_reset"), {"email": UserFactory(email="r@example.com").email})
    assert lost.status_code == 200
    rows = list(OutboxTask.objects.filter(task_path="catalog.mail.mail_later"))
    assert len(rows) == 2 and {r.status for r in rows} == {"pending"}
    assert all(r.run_after > timezone.now() for r in rows)  # not retried in the request
    kept = {r.kwargs["mailer"]: r.kwargs for r in rows}
    assert kept["delivery.tasks.send_library_link"]["language"] == "fr"

    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        settings.EMAIL_PORT = controller.port
        assert outbox_sweep() == 0  # not before its time
        later = timezone.now() + timedelta(hours=1)
        monkeypatch.setattr(timezone, "now", lambda: later)
        with django_capture_on_commit_callbacks(execute=True):
            assert outbox_sweep() == 2  # the clock's sweep, run by the immediate backend
    finally:
        controller.stop()
    sent = {to[0]: body for to, body in inbox.messages}
    assert set(sent) == {"fan@example.com", "r@example.com"}
    assert "/library/" in sent["fan@example.com"]
    assert "bibliothèque" in sent["fan@example.com"].lower() or "Bonjour" in sent["fan@example.com"]
    assert set(OutboxTask.objects.values_list("status", flat=True)) == {"done"}
