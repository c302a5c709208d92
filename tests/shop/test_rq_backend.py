"""The scale-out backend: RQ on the real Redis, through the same tasks API and outbox."""

from __future__ import annotations

import socket

import pytest
from django.core import mail

from catalog.outbox.models import OutboxTask
from shop.models import Order
from shop.services import order_fulfil
from tests.factories import ProductFactory
from tests.helpers import start_checkout

pytestmark = pytest.mark.django_db

REDIS = ("127.0.0.1", 6379)


def _redis_up() -> bool:
    try:
        socket.create_connection(REDIS, timeout=1).close()
    except OSError:
        return False
    return True


@pytest.fixture
def rq_queue(settings, worker_id):
    if not _redis_up():
        pytest.skip("no Redis at 127.0.0.1:6379")
    import django_rq
    from django_tasks_rq.backend import Job

    # Tasks name the "default" queue; each pytest-xdist worker gets its own Redis database.
    name, db = "default", 7 + (int(worker_id[2:]) if worker_id.startswith("gw") else 0) % 8
    settings.RQ_QUEUES = {name: {"URL": f"redis://127.0.0.1:6379/{db}", "DEFAULT_TIMEOUT": 60}}
    settings.TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend"}}
    queue = django_rq.get_queue(name, job_class=Job)
    queue.empty()
    yield queue
    queue.empty()


def _work(queue) -> None:
    from django_tasks_rq.backend import Job
    from rq import SimpleWorker

    SimpleWorker([queue], connection=queue.connection, job_class=Job).work(burst=True)


def test_a_paid_order_s_receipt_goes_through_redis_and_is_sent_once(
    client, rq_queue, django_capture_on_commit_callbacks
):
    product = ProductFactory(price=900)
    with django_capture_on_commit_callbacks(execute=True):
        start_checkout(client, product)
        order = Order.objects.get()
        order_fulfil(order_id=order.pk, payment_id="pi_rq")
    assert mail.outbox == []  # queued in Redis, not run in the request
    assert rq_queue.count == 2  # the receipt and the sellers' notice
    # A duplicate in the queue (a sweep while a worker was slow) changes nothing.
    receipt = OutboxTask.objects.get(key__endswith=":receipt")
    from shop.tasks import send_receipt

    send_receipt.enqueue(outbox_id=receipt.pk)
    _work(rq_queue)
    assert [m.to for m in mail.outbox].count(["fan@example.com"]) == 1
    assert set(OutboxTask.objects.values_list("status", flat=True)) == {"done"}
