"""Mail is sent by tasks, and a mail server that is down costs a delay, never a page.

``mail_task`` is ``django_tasks.task()`` for a function that sends mail, with
retries django-tasks does not have: when sending fails for a reason that may
pass (the server refuses the connection, times out, answers an SMTP error),
the task enqueues itself again with ``run_after`` set by ``RETRY_DELAYS`` and
an attempt count, up to ``len(RETRY_DELAYS)`` retries; then it fails and
says so in the log. A backend that cannot defer a task (the immediate
backend, the one-machine default) hands the mail to the outbox instead
(``mail_later``): a row committed at once, retried with the outbox's backoff
by the clock's sweep, failed and listed in the admin after
``OUTBOX_MAX_ATTEMPTS``. Either way the request that enqueued the mail
answers as usual and the mail is not lost.

A mail is written in its recipient's language: the task runs under
``translation.override(language)``, ``language`` being a keyword the caller
passes (the requester's language, for mails people ask for themselves) or, when
absent, the default; tasks that mail a stored person (a buyer, a seller)
override it again with the language kept on the order or the profile. The
worker has no request, so nothing else would choose it.

Each attempt builds its mail afresh (a token minted inside the task never
sits in the queue), so a mail function must be safe to run again.
"""

from __future__ import annotations

import functools
import logging
import smtplib
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.utils import timezone, translation
from django.utils.module_loading import import_string
from django_tasks import task
from django_tasks.base import Task

from catalog.l10n import language_or_default
from catalog.outbox.services import durable_task, outbox_later

log = logging.getLogger(__name__)

# Seconds before each retry: about nine hours of trying in all.
RETRY_DELAYS = (60, 300, 1800, 7200, 21600)

# OSError covers refused connections, timeouts, DNS and TLS failures.
TRANSIENT = (smtplib.SMTPException, OSError)


class MailNotSent(Exception):
    """A mail given up on; its task fails with this, after the log line."""


def mail_task(func: Callable[..., None]) -> Task[..., None]:
    """``@task()`` for a keyword-only function that sends mail, retried later on failure."""

    @functools.wraps(func)
    def run(*, attempt: int = 1, language: str = "", **kwargs: Any) -> None:
        try:
            with translation.override(language_or_default(language)):
                func(**kwargs)
        except TRANSIENT as exc:
            _again(mailer, kwargs={**kwargs, "language": language}, attempt=attempt, error=exc)

    mailer: Task[..., None] = task()(run)
    return mailer


def _again(
    mailer: Task[..., None], *, kwargs: dict[str, Any], attempt: int, error: BaseException
) -> None:
    name = mailer.name
    if not mailer.get_backend().supports_defer:
        language = kwargs.pop("language", "")
        row = outbox_later(
            mail_later,
            key=f"mail:{uuid.uuid4().hex}",
            after=1,
            mailer=mailer.module_path,
            language=language,
            mail_kwargs=kwargs,
        )
        log.error(
            "Mail %s %s not sent; kept in the outbox (row %s), the clock sends it later: %s",
            name,
            kwargs,
            row.pk,
            error,
        )
        return
    if attempt > len(RETRY_DELAYS):
        log.error("Mail %s %s given up after %d attempts: %s", name, kwargs, attempt, error)
        raise MailNotSent(f"{name}: {error}") from error
    delay = RETRY_DELAYS[attempt - 1]
    mailer.using(run_after=timezone.now() + timedelta(seconds=delay)).enqueue(
        attempt=attempt + 1, **kwargs
    )
    log.warning(
        "Mail %s %s not sent (attempt %d), tried again in %d s: %s",
        name,
        kwargs,
        attempt,
        delay,
        error,
    )


@durable_task
def mail_later(*, mailer: str, language: str, mail_kwargs: dict[str, Any]) -> None:
    """A mail the immediate backend could not send: sent from the outbox, its failures
    retried by the outbox (``OUTBOX_RETRY_*``) rather than by re-enqueueing."""
    send = import_string(mailer).func.__wrapped__
    with translation.override(language_or_default(language)):
        send(**mail_kwargs)
