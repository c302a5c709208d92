"""A paid order always gets its receipt: mail server down, process killed, worker killed."""

from __future__ import annotations

import socket
from datetime import timedelta
from io import StringIO

import pytest
from aiosmtpd.controller import Controller
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from catalog.outbox.models import OutboxTask
from shop.models import Order
from shop.services import order_fulfil
from tests.factories import ProductFactory
from tests.helpers import pay, start_checkout

pytestmark = pytest.mark.django_db


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[list[str]] = []

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd calls it by this name
        self.messages.append(list(envelope.rcpt_tos))
        return "250 OK"


@pytest.fixture
def smtp_down(settings) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", _free_port(), 5
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False


def _buy(client, capture) -> Order:
    product = ProductFactory(price=900)
    with capture(execute=True):
        start_checkout(client, product)
        order = Order.objects.get()
        assert pay(client, order).status_code == 302
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    return order


def _clock() -> None:
    call_command("clock", "--runs", "1", "--no-rollup", stdout=StringIO())


def _make_due() -> None:
    OutboxTask.objects.update(run_after=timezone.now() - timedelta(seconds=1))


def test_with_the_mail_server_down_the_receipt_is_sent_later_by_the_clock(
    client, settings, smtp_down, django_capture_on_commit_callbacks
):
    # The immediate backend: the attempt fails in the request, which answers as usual.
    order = _buy(client, django_capture_on_commit_callbacks)
    receipt = OutboxTask.objects.get(key=f"order:{order.pk}:receipt")
    assert receipt.status == OutboxTask.Status.PENDING and receipt.attempts == 1
    assert "Connection" in receipt.last_error or "refused" in receipt.last_error.lower()

    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        settings.EMAIL_PORT = controller.port
        _clock()
        assert inbox.messages == []  # not before its retry is due
        _make_due()
        _clock()
        _make_due()
        _clock()  # nothing left to send: sent once
    finally:
        controller.stop()
    assert inbox.messages.count(["fan@example.com"]) == 1
    receipt.refresh_from_db()
    assert receipt.status == OutboxTask.Status.DONE and receipt.attempts == 2


def test_a_process_killed_right_after_the_payment_commit_still_sends_the_receipt(
    client, django_capture_on_commit_callbacks
):
    product = ProductFactory(price=900)
    with django_capture_on_commit_callbacks(execute=True):
        start_checkout(client, product)
    order = Order.objects.get()
    # The payment commits, and the process dies before any on-commit callback runs.
    with django_capture_on_commit_callbacks(execute=False):
        order_fulfil(order_id=order.pk, payment_id="pi_test")
    assert mail.outbox == []
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert all(item.entitlement_id for item in order.items.all())
    _make_due()
    _clock()
    assert [m.to for m in mail.outbox].count(["fan@example.com"]) == 1
    assert OutboxTask.objects.filter(status=OutboxTask.Status.DONE).count() == 2


def test_a_receipt_left_running_by_a_killed_worker_is_sent_once_after_its_lease(
    client, django_capture_on_commit_callbacks
):
    product = ProductFactory(price=900)
    with django_capture_on_commit_callbacks(execute=True):
        start_checkout(client, product)
    order = Order.objects.get()
    with django_capture_on_commit_callbacks(execute=False):
        order_fulfil(order_id=order.pk, payment_id="pi_test")
    # A worker claimed the receipt and was killed before it sent anything.
    OutboxTask.objects.filter(key__endswith=":receipt").update(
        status=OutboxTask.Status.RUNNING, attempts=1
    )
    _clock()
    assert mail.outbox == []  # its lease still holds
    _make_due()
    _clock()
    _clock()
    assert [m.to for m in mail.outbox].count(["fan@example.com"]) == 1
    assert OutboxTask.objects.get(key__endswith=":receipt").attempts == 2


def test_each_seller_is_told_once_even_when_the_mail_fails_for_another(
    monkeypatch, django_capture_on_commit_callbacks
):
    from django.core.mail import EmailMultiAlternatives

    from shop.services import OrderLine, order_create
    from tests.factories import SellerFactory, UserFactory

    sellers = [
        SellerFactory(user=UserFactory(email=f"{name}@example.com")) for name in ("ana", "bea")
    ]
    products = [ProductFactory(seller=seller, price=500) for seller in sellers]
    order = order_create(
        lines=[OrderLine(product=p) for p in products],
        email="buyer@example.com",
        checkout_key="k" * 24,
        provider="test",
    )
    sent = EmailMultiAlternatives.send
    down = {"bea@example.com"}

    def send(message, *args, **kwargs):
        if set(message.to) & down:
            raise ConnectionRefusedError("the mail server is down")
        return sent(message, *args, **kwargs)

    monkeypatch.setattr(EmailMultiAlternatives, "send", send)
    with django_capture_on_commit_callbacks(execute=True):
        order_fulfil(order_id=order.pk, payment_id="pi_test_1")
    told = lambda who: [m for m in mail.outbox if m.to == [who] and "sold" in m.subject]  # noqa: E731
    assert len(told("ana@example.com")) == 1 and told("bea@example.com") == []
    failed = OutboxTask.objects.get(key=f"order:{order.pk}:sale-notice:{sellers[1].pk}")
    assert failed.status == OutboxTask.Status.PENDING and failed.attempts == 1
    # The server is back; the retry tells the second seller, and only them.
    down.clear()
    OutboxTask.objects.filter(pk=failed.pk).update(run_after=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        _clock()
    assert len(told("ana@example.com")) == 1 and len(told("bea@example.com")) == 1


def test_a_receipt_sent_again_after_a_lost_done_marker_has_the_same_message_id(
    client, settings, django_capture_on_commit_callbacks
):
    order = _buy(client, django_capture_on_commit_callbacks)
    receipts = [m for m in mail.outbox if m.to == [order.buyer_email]]
    assert len(receipts) == 1
    first = receipts[0].message()["Message-ID"]
    assert first.startswith("<") and first.endswith(".outbox@testserver>")
    notice = next(m for m in mail.outbox if m.to != [order.buyer_email])
    assert notice.message()["Message-ID"] != first  # another row, another message
    # The worker sent the mail, then died before marking its row done: once its lease
    # is over the clock hands the row out again and the mail goes a second time...
    OutboxTask.objects.filter(key=f"order:{order.pk}:receipt").update(
        status=OutboxTask.Status.PENDING
    )
    _make_due()
    _clock()
    again = [m for m in mail.outbox if m.to == [order.buyer_email]]
    assert len(again) == 2
    # ...as the same message: services and readers that collapse duplicates show one.
    assert again[1].message()["Message-ID"] == first
    # Another order's receipt is another message; outside outbox work, Django's own id.
    from catalog.outbox import services

    other = OutboxTask(key=f"order:{order.pk + 1}:receipt", request_id="")
    with services._running(other):
        assert services.outbox_message_id() not in (None, first)
    assert services.outbox_message_id() is None
