"""Signatures, the address rules, real deliveries to a loopback receiver, retries, disabling."""

from __future__ import annotations

import ipaddress
import json
import threading
import time
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from shop.webhooks_out import sender, signing
from shop.webhooks_out.models import Attempt, Delivery, Endpoint, Event
from shop.webhooks_out.services import (
    RETRY_DELAYS,
    WebhookError,
    deliveries_sweep,
    delivery_attempt,
    delivery_replay,
    endpoint_create,
    endpoint_secret_roll,
    endpoint_send_test,
    event_record,
    signing_secrets,
)
from tests.factories import SellerFactory
from tests.webhooks_out.conftest import hooked

pytestmark = pytest.mark.django_db


# --- Signing ------------------------------------------------------------------------


def test_signature_matches_a_known_vector():
    body = b'{"id":"evt_1"}'
    expected = "86504ca838957ec97acf37c1d76e9e0c2acdd8699c4965f24cab90b9bff876dc"
    assert (
        signing.signature(secret="whsec_test-secret", timestamp=1700000000, body=body) == expected
    )
    header = signing.signature_header(
        secrets_=["whsec_test-secret"], timestamp=1700000000, body=body
    )
    assert header == f"t=1700000000,v1={expected}"


def test_a_signature_is_refused_when_the_body_the_secret_or_the_time_differ():
    body = b'{"id":"evt_1"}'
    header = signing.signature_header(secrets_=["whsec_a"], timestamp=1000, body=body)
    assert signing.signature_verify(header=header, body=body, secret="whsec_a", now=1000)
    assert not signing.signature_verify(header=header, body=body + b" ", secret="whsec_a", now=1000)
    assert not signing.signature_verify(header=header, body=body, secret="whsec_b", now=1000)
    assert not signing.signature_verify(header=header, body=body, secret="whsec_a", now=1000 + 301)


def test_a_rolled_secret_signs_beside_the_new_one_for_the_overlap_only():
    hook = hooked("http://127.0.0.1:9/x")
    now = timezone.now()
    new = endpoint_secret_roll(endpoint=hook.endpoint, now=now)
    endpoint = Endpoint.objects.get(pk=hook.endpoint.pk)
    assert new != hook.secret and new.startswith("whsec_")
    assert signing_secrets(endpoint, now + timedelta(hours=23)) == [new, hook.secret]
    assert signing_secrets(endpoint, now + timedelta(hours=24, seconds=1)) == [new]


# --- Address rules (server-side request forgery) -------------------------------------


@pytest.mark.parametrize(
    ("address", "rule"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("fd00::1", "private"),
        ("169.254.169.254", "link_local"),
        ("fe80::1", "link_local"),
        ("100.64.0.1", "shared"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),  # noqa: S104
        ("240.0.0.1", "reserved"),
        ("192.0.2.1", "private"),  # documentation range: not globally routable
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped
        ("::ffff:169.254.169.254", "link_local"),
        ("2002:7f00:1::", "loopback"),  # 6to4 of 127.0.0.1
        ("64:ff9b::a00:1", "private"),  # NAT64 of 10.0.0.1
        ("8.8.8.8", None),
        ("2606:4700:4700::1111", None),
    ],
)
def test_each_address_class_is_refused_and_public_ones_pass(address, rule):
    assert sender.address_problem(ipaddress.ip_address(address)) == rule


def test_a_host_name_that_resolves_to_loopback_is_refused():
    with pytest.raises(sender.Refused) as caught:
        sender.target("https://localhost/hooks", allow_private=False, allow_http=False)
    assert caught.value.code == "loopback"


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://example.com/hooks", "not_https"),
        ("ftp://example.com/", "scheme"),
        ("https://user:pw@example.com/", "credentials"),
        ("https:///nohost", "no_host"),
        ("https://example.com:99999/", "malformed"),
        ("https://exa mple.com/", "malformed"),
        ("https://[::1/", "malformed"),
        ("", "empty"),
    ],
)
def test_addresses_that_are_not_https_urls_are_refused(url, code):
    with pytest.raises(sender.Refused) as caught:
        sender.target(url, allow_private=False, allow_http=False)
    assert caught.value.code == code


@override_settings(WEBHOOKS_ALLOW_PRIVATE=False, WEBHOOKS_ALLOW_HTTP=False)
def test_registration_refuses_a_private_address_with_a_clear_message():
    with pytest.raises(WebhookError) as caught:
        endpoint_create(seller=SellerFactory(), url="https://10.0.0.5/h", events=["sale.created"])
    assert caught.value.field == "url"
    assert "10.0.0.5" in caught.value.message and "private network" in caught.value.message
    assert not Endpoint.objects.exists()


def test_the_sender_refuses_loopback_at_send_time_when_private_is_not_allowed(receiver):
    hook = hooked(receiver.url)
    delivery = endpoint_send_test(endpoint=hook.endpoint)
    with override_settings(WEBHOOKS_ALLOW_PRIVATE=False):
        attempt = delivery_attempt(delivery_id=delivery.pk)
    assert attempt is not None and attempt.error == "refused:loopback"
    assert receiver.received == []


# --- Real deliveries -------------------------------------------------------------------


def test_a_delivery_reaches_the_receiver_signed_and_is_recorded(receiver):
    hook = hooked(receiver.url)
    delivery = endpoint_send_test(endpoint=hook.endpoint)
    attempt = delivery_attempt(delivery_id=delivery.pk)
    assert attempt is not None and attempt.succeeded and attempt.status_code == 200
    assert attempt.excerpt == "ok"
    [got] = receiver.received
    body = json.loads(got.body)
    assert body["id"] == delivery.event.public_id and body["type"] == "endpoint.test"
    assert got.headers["Echoppe-Event-Id"] == body["id"]
    assert signing.signature_verify(
        header=got.headers["Echoppe-Signature"],
        body=got.body,
        secret=hook.secret,
        now=int(time.time()),
    )
    assert Delivery.objects.get(pk=delivery.pk).status == Delivery.Status.SUCCEEDED


def test_after_a_roll_both_signatures_are_sent_and_each_verifies(receiver):
    hook = hooked(receiver.url)
    new = endpoint_secret_roll(endpoint=hook.endpoint)
    delivery = endpoint_send_test(endpoint=hook.endpoint)
    delivery_attempt(delivery_id=delivery.pk)
    [got] = receiver.received
    header = got.headers["Echoppe-Signature"]
    assert header.count("v1=") == 2
    for secret in (new, hook.secret):
        assert signing.signature_verify(
            header=header, body=got.body, secret=secret, now=int(time.time())
        )


def test_a_redirect_is_not_followed_and_counts_as_a_failure(receiver):
    receiver.answer(302, b"", Location="http://169.254.169.254/latest/meta-data/")
    hook = hooked(receiver.url)
    delivery = endpoint_send_test(endpoint=hook.endpoint)
    attempt = delivery_attempt(delivery_id=delivery.pk)
    assert attempt is not None and not attempt.succeeded
    assert attempt.error == "redirect" and "169.254.169.254" in attempt.excerpt
    assert len(receiver.received) == 1  # nothing went to the Location
    assert Delivery.objects.get(pk=delivery.pk).status == Delivery.Status.PENDING


def test_a_long_answer_is_cut_to_an_excerpt(receiver):
    receiver.answer(200, b"x" * 200_000)
    hook = hooked(receiver.url)
    delivery = endpoint_send_test(endpoint=hook.endpoint)
    attempt = delivery_attempt(delivery_id=delivery.pk)
    assert attempt is not None and attempt.succeeded and len(attempt.excerpt) == sender.EXCERPT


def test_retries_follow_the_schedule_and_a_later_success_ends_them(receiver):
    receiver.answers = [(500, {}, b"down"), (503, {}, b"still down"), (200, {}, b"fine")]
    hook = hooked(receiver.url)
    delivery = endpoint_send_test(endpoint=hook.endpoint)
    start = timezone.now()
    first = delivery_attempt(delivery_id=delivery.pk, now=start)
    assert first is not None and first.status_code == 500 and first.excerpt == "down"
    row = Delivery.objects.get(pk=delivery.pk)
    assert row.next_attempt_at == start + timedelta(seconds=RETRY_DELAYS[0])
    # Not due yet: a sweep a little earlier sends nothing.
    assert deliveries_sweep(now=start + timedelta(seconds=30)) == 0
    assert deliveries_sweep(now=start + timedelta(seconds=61)) == 1
    row.refresh_from_db()
    assert row.next_attempt_at == start + timedelta(seconds=61 + RETRY_DELAYS[1])
    assert deliveries_sweep(now=start + timedelta(seconds=61 + 301)) == 1
    row.refresh_from_db()
    assert row.status == Delivery.Status.SUCCEEDED and row.attempts == 3
    tries = list(Attempt.objects.filter(delivery=row).order_by("number"))
    assert [(a.number, a.status_code, a.succeeded) for a in tries] == [
        (1, 500, False),
        (2, 503, False),
        (3, 200, True),
    ]
    assert sum(RETRY_DELAYS) / 86400 == pytest.approx(3.2, abs=0.1)
    assert Endpoint.objects.get(pk=hook.endpoint.pk).failing_since is None


def test_a_delivery_fails_for_good_after_the_last_retry(receiver):
    receiver.answer(500)
    hook = hooked(receiver.url)
    delivery = endpoint_send_test(endpoint=hook.endpoint)
    when = timezone.now()
    Endpoint.objects.filter(pk=hook.endpoint.pk).update(failing_since=None)
    for delay in (0, *RETRY_DELAYS):
        when += timedelta(seconds=delay)
        # Keep the endpoint on: this test is about the delivery's own limit.
        Endpoint.objects.filter(pk=hook.endpoint.pk).update(failing_since=None)
        assert delivery_attempt(delivery_id=delivery.pk, now=when) is not None
    row = Delivery.objects.get(pk=delivery.pk)
    assert row.status == Delivery.Status.FAILED and row.attempts == len(RETRY_DELAYS) + 1
    assert delivery_attempt(delivery_id=delivery.pk, now=when + timedelta(days=1)) is None


def test_an_endpoint_failing_for_three_days_is_turned_off_and_its_seller_mailed_once(
    receiver, django_capture_on_commit_callbacks
):
    receiver.answer(500)
    hook = hooked(receiver.url)
    first = endpoint_send_test(endpoint=hook.endpoint)
    start = timezone.now()
    assert delivery_attempt(delivery_id=first.pk, now=start) is not None
    second = endpoint_send_test(endpoint=hook.endpoint)
    later = start + timedelta(days=3, seconds=1)
    Delivery.objects.filter(pk=second.pk).update(next_attempt_at=later)
    with django_capture_on_commit_callbacks(execute=True):
        delivery_attempt(delivery_id=second.pk, now=later)
    endpoint = Endpoint.objects.get(pk=hook.endpoint.pk)
    assert not endpoint.enabled and endpoint.disabled_reason == "failing"
    mails = [m for m in mail.outbox if hook.seller.user.email in m.to]
    assert len(mails) == 1 and endpoint.url in mails[0].subject
    # Off: nothing more is sent, and no second mail.
    with django_capture_on_commit_callbacks(execute=True):
        assert deliveries_sweep(now=later + timedelta(days=1)) == 0
    assert len([m for m in mail.outbox if hook.seller.user.email in m.to]) == 1


def test_the_disabled_mail_is_in_the_sellers_language(receiver, django_capture_on_commit_callbacks):
    receiver.answer(500)
    hook = hooked(receiver.url, seller=SellerFactory(language="fr"))
    first = endpoint_send_test(endpoint=hook.endpoint)
    start = timezone.now()
    assert delivery_attempt(delivery_id=first.pk, now=start) is not None
    second = endpoint_send_test(endpoint=hook.endpoint)
    later = start + timedelta(days=4)
    Delivery.objects.filter(pk=second.pk).update(next_attempt_at=later)
    with django_capture_on_commit_callbacks(execute=True):
        delivery_attempt(delivery_id=second.pk, now=later)
    [message] = [m for m in mail.outbox if hook.seller.user.email in m.to]
    assert "désactivé" in message.subject


def test_a_replay_sends_the_same_event_id_and_body(receiver):
    hook = hooked(receiver.url)
    delivery = endpoint_send_test(endpoint=hook.endpoint)
    delivery_attempt(delivery_id=delivery.pk)
    again = delivery_replay(delivery=Delivery.objects.get(pk=delivery.pk))
    assert again.pk != delivery.pk and again.replay_of_id == delivery.pk
    delivery_attempt(delivery_id=again.pk)
    first, second = receiver.received
    assert first.body == second.body
    assert first.headers["Echoppe-Event-Id"] == second.headers["Echoppe-Event-Id"]


def test_an_event_is_recorded_once_per_key_and_only_for_subscribed_endpoints(receiver):
    hook = hooked(receiver.url, events=["refund.created"])
    from django.db import transaction

    with transaction.atomic():
        assert event_record(type="sale.created", seller_id=hook.seller.pk, key="x", ref={}) is None
    assert not Event.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_sweeps_never_send_one_attempt_twice(receiver):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers, so there is no race to lose")
    hook = hooked(receiver.url)
    deliveries = [endpoint_send_test(endpoint=hook.endpoint) for _ in range(12)]
    Delivery.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    barrier = threading.Barrier(2)

    def sweep() -> None:
        barrier.wait()
        try:
            deliveries_sweep()
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = [json.loads(r.body)["id"] for r in receiver.received]
    assert sorted(ids) == sorted(d.event.public_id for d in deliveries)
    assert Attempt.objects.count() == 12


def test_the_clock_sends_a_retry_that_is_due(receiver):
    import io

    from django.core.management import call_command

    hook = hooked(receiver.url)
    delivery = endpoint_send_test(endpoint=hook.endpoint)
    Delivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )
    call_command("clock", runs=1, no_rollup=True, no_funding=True, stdout=io.StringIO())
    assert len(receiver.received) == 1
    assert Delivery.objects.get(pk=delivery.pk).status == Delivery.Status.SUCCEEDED


def test_webhooks_send_refuses_runs_without_every():
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="--runs goes with --every"):
        call_command("webhooks_send", runs=2)
