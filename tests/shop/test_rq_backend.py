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


@pytest.mark.django_db(transaction=True)
def test_a_real_rq_worker_process_sends_the_receipt_once(client, rq_queue, tmp_path):
    """``manage.py rqworker`` as the README runs it, in its own process, on the same
    PostgreSQL database and Redis queue as the web process that took the payment."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("a worker process needs a database it can open: SQLite's test one is in memory")
    root = Path(__file__).resolve().parents[2]
    product = ProductFactory(price=900)
    start_checkout(client, product)
    order = Order.objects.get()
    order_fulfil(order_id=order.pk, payment_id="pi_rq_process")
    assert rq_queue.count == 2 and mail.outbox == []  # the receipt and the notice, in Redis
    from django.conf import settings

    (tmp_path / "rq_worker_settings.py").write_text(
        "from tests.settings import *  # noqa: F403\n"
        f"DATABASES['default']['NAME'] = {connection.settings_dict['NAME']!r}\n"
        "TASKS = {'default': {'BACKEND': 'django_tasks_rq.RQBackend'}}\n"
        "INSTALLED_APPS = [*INSTALLED_APPS, 'django_rq']\n"
        f"RQ_QUEUES = {settings.RQ_QUEUES!r}\n"
        "EMAIL_BACKEND = 'django.core.mail.backends.filebased.EmailBackend'\n"
        f"EMAIL_FILE_PATH = {str(tmp_path / 'mail')!r}\n"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "rq_worker_settings",
        "PYTHONPATH": os.pathsep.join([str(tmp_path), str(root)]),
    }
    command = [sys.executable, "manage.py", "rqworker", "default", "--burst"]
    done = subprocess.run(
        [*command, "--job-class", "django_tasks_rq.Job"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert rq_queue.count == 0
    assert set(OutboxTask.objects.values_list("status", flat=True)) == {"done"}
    sent = [path.read_text() for path in (tmp_path / "mail").iterdir()]
    receipts = [text for text in sent if "To: fan@example.com" in text]
    assert len(receipts) == 1 and order.public_id.hex[:8] in receipts[0].replace("-", "")
