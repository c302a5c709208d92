"""The one clock: sweeps the outbox, requeues dead workers' tasks, rolls the dashboard up."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from catalog.outbox.services import tasks_requeue_stale

pytestmark = pytest.mark.django_db


def test_the_clock_rolls_the_dashboard_up_on_its_first_sweep():
    out = StringIO()
    call_command("clock", "--runs", "1", stdout=out)
    assert "Rolled up" in out.getvalue() and "Clock stopped after 1 sweep." in out.getvalue()


def test_the_clock_settles_fan_funding_on_its_first_sweep_then_every_period(settings):
    settings.CLOCK_SWEEP_SECONDS = 0
    settings.CLOCK_FUNDING_SECONDS = 3600
    out = StringIO()
    call_command("clock", "--runs", "3", "--no-rollup", stdout=out)
    # Three sweeps, one settlement: the period had not come round again.
    assert out.getvalue().count("Campaigns settled:") == 1
    assert "Rolled up" not in out.getvalue()
    out = StringIO()
    call_command("clock", "--runs", "1", "--no-funding", stdout=out)
    assert "Campaigns settled:" not in out.getvalue() and "Rolled up" in out.getvalue()


def test_the_clock_refuses_a_count_of_no_sweeps():
    with pytest.raises(CommandError, match="--runs takes a number above 0"):
        call_command("clock", "--runs", "0")


def test_a_database_task_left_running_by_a_dead_worker_is_queued_again(settings):
    from django_tasks.base import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    from shop.tasks import send_receipt

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.TASKS_STALE_SECONDS = 3600
    old = send_receipt.enqueue(outbox_id=1)
    young = send_receipt.enqueue(outbox_id=2)
    DBTaskResult.objects.filter(id=old.id).update(
        status=TaskResultStatus.RUNNING, started_at=timezone.now() - timedelta(hours=2)
    )
    DBTaskResult.objects.filter(id=young.id).update(
        status=TaskResultStatus.RUNNING, started_at=timezone.now() - timedelta(minutes=5)
    )
    assert tasks_requeue_stale() == 1
    assert DBTaskResult.objects.get(id=old.id).status == TaskResultStatus.READY
    assert DBTaskResult.objects.get(id=young.id).status == TaskResultStatus.RUNNING
