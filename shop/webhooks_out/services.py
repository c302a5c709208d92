"""Events, endpoints and deliveries: recorded with the change, sent by the worker, retried.

An event is recorded by ``event_record`` (a ``catalog.seller_events``
listener) inside the transaction of the change it reports, with one delivery
per enabled endpoint that subscribed to its type; nothing is written for a
seller with no such endpoint. On commit each delivery's task is enqueued
(``webhook_deliver``); ``deliveries_sweep`` (the clock, or ``manage.py
webhooks_send``) hands out the retries that are due and deliveries whose
sender died.

A try first *claims* its delivery (one conditional UPDATE from waiting to
sending, with a lease), so two workers or two sweeps never send one attempt
twice; the POST runs with no transaction open (decision 32); the outcome is
recorded after. A failure waits ``RETRY_DELAYS`` (1 min, 5 min, 30 min, 2 h,
5 h, then 10 h) — about three days — then the delivery fails. An endpoint
whose deliveries have failed without a success for
``WEBHOOKS_DISABLE_AFTER_SECONDS`` is turned off and its seller mailed once.
"""

from __future__ import annotations

import json
import logging
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext
from django_tasks import task

from catalog.mail import mail_task
from catalog.models import Seller
from catalog.seller_events import EVENT_TYPES
from shop.webhooks_out import sender, signing
from shop.webhooks_out.models import Attempt, Delivery, Endpoint, Event
from shop.webhooks_out.payloads import BUILDERS

log = logging.getLogger(__name__)

# Seconds after each failed attempt: 1 min, 5 min, 30 min, 2 h, 5 h, then 10 h (≈ 3.2 days).
RETRY_DELAYS = (60, 300, 1800, 7200, 18000, *([36000] * 7))
MAX_ENDPOINTS = 10
TEST_TYPE = "endpoint.test"
USER_AGENT = "Echoppe-Webhooks/1"


class WebhookError(Exception):
    """Input a seller can fix; ``field`` names the form field it belongs to."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def refusal_message(code: str, detail: str = "") -> str:
    """The sentence for a :class:`sender.Refused` rule (form errors, the attempts list)."""
    messages = {
        "empty": gettext("Enter the address that should receive the events."),
        "too_long": gettext("This address is too long (at most 500 characters)."),
        "malformed": gettext("This is not a web address, like https://example.com/hooks."),
        "scheme": gettext("The address must start with https://."),
        "not_https": gettext("Only https:// addresses are allowed: the events must be encrypted."),
        "credentials": gettext(
            "Leave the user name and password out of the address; check the signature instead."
        ),
        "no_host": gettext("The address has no host name."),
        "unresolved": gettext("The host name %(detail)s could not be found (DNS)."),
        "unspecified": gettext("The address %(detail)s is not a real destination."),
        "loopback": gettext(
            "The address leads to %(detail)s, this machine itself: only public addresses "
            "are allowed."
        ),
        "link_local": gettext(
            "The address leads to %(detail)s, a link-local address (like a cloud metadata "
            "service): only public addresses are allowed."
        ),
        "multicast": gettext("The address leads to %(detail)s, a multicast address."),
        "shared": gettext(
            "The address leads to %(detail)s, a carrier's shared network: only public addresses "
            "are allowed."
        ),
        "private": gettext(
            "The address leads to %(detail)s, a private network: only public addresses are allowed."
        ),
        "reserved": gettext(
            "The address leads to %(detail)s, a reserved address: only public addresses "
            "are allowed."
        ),
    }
    return messages.get(code, gettext("This address cannot receive events.")) % {"detail": detail}


def attempt_error_message(attempt: Attempt) -> str:
    """What went wrong with an attempt, for the seller (stored as a code, read in their
    language)."""
    code, _, rule = attempt.error.partition(":")
    if code == "refused":
        return refusal_message(rule, attempt.excerpt)
    return {
        "": "",
        "redirect": gettext("Redirected (redirects are not followed)."),
        "timeout": gettext("No answer within 10 seconds."),
        "connect": gettext("Could not connect."),
        "tls": gettext("The TLS certificate or connection was refused."),
        "protocol": gettext("The answer was not valid HTTP."),
        "status": gettext("The answer was not a 2xx status."),
    }.get(code, attempt.error)


def url_check(url: str) -> str:
    """The address, stripped, if the sender would reach it; else :class:`WebhookError`."""
    try:
        sender.target(
            url,
            allow_private=settings.WEBHOOKS_ALLOW_PRIVATE,
            allow_http=settings.WEBHOOKS_ALLOW_HTTP,
        )
    except sender.Refused as exc:
        raise WebhookError(refusal_message(exc.code, exc.detail), "url") from None
    return url.strip()


def _events_check(events: list[str]) -> list[str]:
    if not events or any(name not in EVENT_TYPES for name in events):
        raise WebhookError(gettext("Choose at least one event from the list."), "events")
    return [name for name in EVENT_TYPES if name in events]


def endpoint_create(
    *, seller: Seller, url: str, events: list[str], description: str = ""
) -> tuple[Endpoint, str]:
    """A new endpoint and its secret (the only time the page shows it)."""
    url = url_check(url)  # resolves the name: before any transaction opens
    events = _events_check(events)
    with transaction.atomic():
        Seller.objects.select_for_update().filter(pk=seller.pk).first()
        if Endpoint.objects.filter(seller=seller).count() >= MAX_ENDPOINTS:
            raise WebhookError(
                gettext("You have %(count)s endpoints: delete one you no longer use first.")
                % {"count": MAX_ENDPOINTS}
            )
        secret = signing.secret_generate()
        endpoint = Endpoint.objects.create(
            seller=seller,
            url=url,
            events=events,
            description=description.strip()[:200],
            secret=secret,
        )
    return endpoint, secret


def endpoint_update(
    *, endpoint: Endpoint, url: str, events: list[str], description: str
) -> Endpoint:
    url = url_check(url)
    events = _events_check(events)
    with transaction.atomic():
        Endpoint.objects.filter(pk=endpoint.pk).update(
            url=url, events=events, description=description.strip()[:200]
        )
    endpoint.refresh_from_db()
    return endpoint


@transaction.atomic
def endpoint_set_enabled(*, endpoint: Endpoint, enabled: bool) -> Endpoint:
    """On or off by the seller; turning it on again forgets the failures."""
    Endpoint.objects.filter(pk=endpoint.pk).update(
        enabled=enabled, disabled_reason="", failing_since=None
    )
    endpoint.refresh_from_db()
    return endpoint


@transaction.atomic
def endpoint_secret_roll(*, endpoint: Endpoint, now: datetime | None = None) -> str:
    """A new secret; the current one keeps signing beside it for the overlap."""
    now = now or timezone.now()
    endpoint = Endpoint.objects.select_for_update().get(pk=endpoint.pk)
    secret = signing.secret_generate()
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_until = now + timedelta(seconds=settings.WEBHOOKS_SECRET_OVERLAP_SECONDS)
    endpoint.secret = secret
    endpoint.save(update_fields=["secret", "previous_secret", "previous_until"])
    return secret


@transaction.atomic
def endpoint_delete(*, endpoint: Endpoint) -> None:
    Endpoint.objects.filter(pk=endpoint.pk).delete()


def signing_secrets(endpoint: Endpoint, now: datetime) -> list[str]:
    """The secrets a delivery is signed with now: the current one, then one rolled lately."""
    found = [endpoint.secret]
    if endpoint.previous_secret and endpoint.previous_until and endpoint.previous_until > now:
        found.append(endpoint.previous_secret)
    return found


# --- Events and deliveries -----------------------------------------------------------


def _event_create(*, seller_id: int, type: str, key: str, data: dict[str, Any]) -> Event:
    now = timezone.now()
    public_id = "evt_" + secrets.token_hex(12)
    envelope = {"id": public_id, "type": type, "created": int(now.timestamp()), "data": data}
    body = json.dumps(envelope, ensure_ascii=False, separators=(",", ":"))
    return Event.objects.create(
        public_id=public_id, seller_id=seller_id, type=type, key=key, body=body, created_at=now
    )


def _delivery_create(
    *, endpoint: Endpoint, event: Event, replay_of: Delivery | None = None
) -> Delivery:
    now = timezone.now()
    delivery = Delivery.objects.create(
        endpoint=endpoint, event=event, next_attempt_at=now, created_at=now, replay_of=replay_of
    )
    transaction.on_commit(lambda: _enqueue(delivery.pk))
    return delivery


def _enqueue(delivery_id: int, now: datetime | None = None) -> None:
    try:
        webhook_deliver.enqueue(delivery_id=delivery_id, now=now.isoformat() if now else "")
    except Exception:
        # The row is committed: the next sweep hands it out.
        log.exception("Could not enqueue webhook delivery %s", delivery_id)


def event_record(*, type: str, seller_id: int, key: str, ref: dict[str, Any]) -> Event | None:
    """The ``catalog.seller_events`` listener: the event and its deliveries, in the caller's
    transaction; nothing when no enabled endpoint of the seller wants it, or it exists."""
    endpoints = [
        e for e in Endpoint.objects.filter(seller_id=seller_id, enabled=True) if type in e.events
    ]
    if not endpoints or Event.objects.filter(key=key).exists():
        return None
    data = BUILDERS[type](seller_id=seller_id, **ref)
    try:
        with transaction.atomic():  # a savepoint: a duplicate never undoes the caller's change
            event = _event_create(seller_id=seller_id, type=type, key=key, data=data)
    except IntegrityError:
        return None  # the same happening, recorded by a concurrent transaction
    for endpoint in endpoints:
        _delivery_create(endpoint=endpoint, event=event)
    return event


@transaction.atomic
def endpoint_send_test(*, endpoint: Endpoint) -> Delivery:
    if not endpoint.enabled:
        raise WebhookError(gettext("Turn the endpoint on first."))
    event = _event_create(
        seller_id=endpoint.seller_id,
        type=TEST_TYPE,
        key=f"test:{endpoint.pk}:{secrets.token_hex(8)}",
        data=BUILDERS[TEST_TYPE](seller_id=endpoint.seller_id),
    )
    return _delivery_create(endpoint=endpoint, event=event)


@transaction.atomic
def delivery_replay(*, delivery: Delivery) -> Delivery:
    """Send the same event (same id, same body) again, as a new delivery."""
    if not delivery.endpoint.enabled:
        raise WebhookError(gettext("Turn the endpoint on first."))
    return _delivery_create(endpoint=delivery.endpoint, event=delivery.event, replay_of=delivery)


def _claim(delivery_id: int, now: datetime) -> bool:
    lease = now + timedelta(seconds=settings.WEBHOOKS_LEASE_SECONDS)
    return bool(
        Delivery.objects.filter(
            pk=delivery_id,
            status=Delivery.Status.PENDING,
            next_attempt_at__lte=now,
            endpoint__enabled=True,
        ).update(status=Delivery.Status.SENDING, next_attempt_at=lease, attempts=F("attempts") + 1)
    )


def delivery_attempt(*, delivery_id: int, now: datetime | None = None) -> Attempt | None:
    """Claim, POST, record; None when another worker has it or nothing is due."""
    now = now or timezone.now()
    if not _claim(delivery_id, now):
        return None
    delivery = Delivery.objects.select_related("endpoint", "event").get(pk=delivery_id)
    endpoint, event = delivery.endpoint, delivery.event
    body = event.body.encode()
    stamp = int(timezone.now().timestamp())
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        "Echoppe-Event-Id": event.public_id,
        "Echoppe-Event-Type": event.type,
        signing.HEADER: signing.signature_header(
            secrets_=signing_secrets(endpoint, now), timestamp=stamp, body=body
        ),
    }
    outcome = sender.post(
        endpoint.url,
        body=body,
        headers=headers,
        allow_private=settings.WEBHOOKS_ALLOW_PRIVATE,
        allow_http=settings.WEBHOOKS_ALLOW_HTTP,
    )
    return _outcome_record(delivery, outcome, now)


def _outcome_record(delivery: Delivery, outcome: sender.Outcome, now: datetime) -> Attempt:
    error = outcome.error
    if not error and not outcome.succeeded:
        error = "status"
    detail = outcome.detail if error.startswith(("refused", "redirect")) else ""
    with transaction.atomic():
        attempt = Attempt.objects.create(
            delivery=delivery,
            number=delivery.attempts,
            started_at=now,
            duration_ms=outcome.duration_ms,
            status_code=outcome.status_code,
            error=error[:300],
            excerpt=detail[:300] if detail else outcome.excerpt,
            succeeded=outcome.succeeded,
        )
        mine = Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.SENDING)
        endpoints = Endpoint.objects.filter(pk=delivery.endpoint_id)
        if outcome.succeeded:
            mine.update(status=Delivery.Status.SUCCEEDED)
            endpoints.update(failing_since=None)
            return attempt
        if delivery.attempts > len(RETRY_DELAYS):
            mine.update(status=Delivery.Status.FAILED)
        else:
            delay = RETRY_DELAYS[delivery.attempts - 1]
            mine.update(
                status=Delivery.Status.PENDING, next_attempt_at=now + timedelta(seconds=delay)
            )
        endpoints.filter(failing_since__isnull=True).update(failing_since=now)
        cutoff = now - timedelta(seconds=settings.WEBHOOKS_DISABLE_AFTER_SECONDS)
        off = endpoints.filter(enabled=True, failing_since__lte=cutoff).update(
            enabled=False, disabled_reason="failing"
        )
        if off:
            endpoint_id = delivery.endpoint_id
            language = delivery.endpoint.seller.language
            log.warning("Webhook endpoint %s turned off after failing for days", endpoint_id)
            transaction.on_commit(
                lambda: send_endpoint_disabled.enqueue(endpoint_id=endpoint_id, language=language)
            )
    return attempt


@task()
def webhook_deliver(*, delivery_id: int, now: str = "") -> None:
    delivery_attempt(delivery_id=delivery_id, now=parse_datetime(now) if now else None)


def deliveries_sweep(*, now: datetime | None = None, batch: int = 200) -> int:
    """Hand out the deliveries that are due; those a dead sender held wait again first."""
    now = now or timezone.now()
    Delivery.objects.filter(status=Delivery.Status.SENDING, next_attempt_at__lte=now).update(
        status=Delivery.Status.PENDING
    )
    due = list(
        Delivery.objects.filter(
            status=Delivery.Status.PENDING, next_attempt_at__lte=now, endpoint__enabled=True
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:batch]
    )
    for pk in due:
        _enqueue(pk, now)
    return len(due)


@mail_task
def send_endpoint_disabled(*, endpoint_id: int) -> None:
    endpoint = Endpoint.objects.select_related("seller__user").filter(pk=endpoint_id).first()
    if endpoint is None or endpoint.enabled or not endpoint.seller.user.email:
        return
    days = settings.WEBHOOKS_DISABLE_AFTER_SECONDS // 86400
    context = {
        "endpoint": endpoint,
        "days": days,
        "url": str(settings.SITE_URL).rstrip("/")
        + reverse("webhooks_out:endpoint", kwargs={"endpoint": endpoint.pk}),
        "store_name": settings.STORE_NAME,
    }
    EmailMessage(
        subject=gettext("Your webhook endpoint is turned off: %(url)s") % {"url": endpoint.url},
        body=render_to_string("webhooks_out/email/disabled.txt", context),
        to=[endpoint.seller.user.email],
    ).send()
