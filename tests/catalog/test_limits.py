"""The one limiter (catalog/limits.py): its windows, the login and the mails it guards,
the deploy check about per-process caches, and one count shared by two OS processes."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, override_settings
from django.urls import reverse

from catalog.checks import check_limits_cache
from catalog.limits import Limited, Rate, limit_hit
from catalog.models import Seller
from tests.factories import SellerFactory, UserFactory

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "a-long-pass-phrase"
SIGNUP = {"email": "zoe@example.com", "password": PASSWORD, "display_name": "Zoé Martin"}


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    return lambda: django_capture_on_commit_callbacks(execute=True)


def _page(response) -> str:
    """The page without what differs on every render (the CSRF token)."""
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())


def _login(client: Client, username: str, password: str):
    return client.post(reverse("login"), {"username": username, "password": password})


# --- The limiter itself -------------------------------------------------------------


def test_a_limit_allows_its_count_then_refuses_until_its_window_ends(db, limit_clock):
    rate = Rate(count=3, seconds=900)

    def hit() -> Limited | None:
        try:
            limit_hit(scope="test", subject="someone", rate=rate, message="Slow down.")
        except Limited as exc:
            return exc
        return None

    assert [hit() for _ in range(3)] == [None, None, None]
    limit_clock.advance(600)
    refused = hit()
    assert refused is not None and refused.retry_after == 300
    assert refused.message == "Slow down." and refused.wait == "in 5 minutes"
    limit_clock.advance(300)
    assert hit() is None


def test_subjects_and_scopes_are_counted_apart(db, limit_clock):
    rate = Rate(count=1, seconds=60)
    limit_hit(scope="a", subject="x", rate=rate, message="")
    limit_hit(scope="a", subject="y", rate=rate, message="")
    limit_hit(scope="b", subject="x", rate=rate, message="")
    with pytest.raises(Limited):
        limit_hit(scope="a", subject="x", rate=rate, message="")


def test_a_limit_setting_is_a_count_per_period_and_a_bad_one_is_named(monkeypatch):
    from shop.settings import env_rate

    monkeypatch.setenv("LIMIT_X", "10/15m")
    assert env_rate("LIMIT_X", "1/1h") == (10, 900)
    for bad in ("10", "ten/1h", "10/0h", "10/1w", "1e9/1h", "²/1h", "10/1.5h"):
        monkeypatch.setenv("LIMIT_X", bad)
        with pytest.raises(ImproperlyConfigured, match="LIMIT_X must be a count per period"):
            env_rate("LIMIT_X", "1/1h")


def test_the_cache_url_picks_locmem_or_a_shared_redis():
    from shop.settings import cache_settings

    assert cache_settings("")["default"]["BACKEND"].endswith("LocMemCache")
    assert cache_settings("locmem://")["default"]["BACKEND"].endswith("LocMemCache")
    # Room for the product cards of catalog-scale listings, not Django's 300 entries.
    assert cache_settings("")["default"]["OPTIONS"]["MAX_ENTRIES"] == 20000
    redis = cache_settings("redis://127.0.0.1:6379/2")["default"]
    assert redis["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    assert redis["LOCATION"] == "redis://127.0.0.1:6379/2"
    with pytest.raises(ImproperlyConfigured, match="CACHE_URL"):
        cache_settings("memcached://127.0.0.1:11211")


def test_check_deploy_warns_when_limits_are_counted_per_process():
    locmem = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    redis = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/0",
        }
    }
    with override_settings(DEBUG=False, CACHES=locmem):
        assert [m.id for m in check_limits_cache()] == ["catalog.W001"]
    with override_settings(DEBUG=True, CACHES=locmem):
        assert check_limits_cache() == []
    with override_settings(DEBUG=False, CACHES=redis):
        assert check_limits_cache() == []


def test_check_deploy_names_the_per_process_cache_of_a_production_setup():
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DJANGO_SETTINGS_MODULE", "CACHE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=ROOT,
        env={
            **env,
            "DJANGO_SETTINGS_MODULE": "shop.settings",
            "DEBUG": "false",
            "SECRET_KEY": "p3r-deploy-9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a1f0e9d8c7b6a5",
            "ALLOWED_HOSTS": "shop.example.com",
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "catalog.W001" in result.stdout + result.stderr


# --- Across processes, in the real Redis -------------------------------------------

WORKER = """
import os, sys, time
import django
os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
django.setup()
from django.test.utils import override_settings
override_settings(CACHES={"default": {
    "BACKEND": "django.core.cache.backends.redis.RedisCache",
    "LOCATION": "redis://127.0.0.1:6379/0",
    "KEY_PREFIX": sys.argv[1],
}}).enable()
from catalog.limits import Limited, Rate, limit_hit
from django.core.cache import cache
cache.get("warm-up")  # connect before the start line
start_at = float(sys.argv[2])
while time.time() < start_at:
    pass
allowed = 0
for _ in range(int(sys.argv[3])):
    try:
        limit_hit(scope="race", subject="one", rate=Rate(count=int(sys.argv[4]), seconds=3600), message="")
        allowed += 1
    except Limited:
        pass
print(allowed)
"""


def _redis_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def test_the_limit_holds_across_processes_sharing_redis():
    if not _redis_reachable():
        pytest.skip("no Redis at 127.0.0.1:6379 to share between processes")
    import time

    prefix = f"echoppe-test-{uuid.uuid4().hex}"
    start_at = time.time() + 3  # both processes are connected and spinning by then
    limit, tries = 50, 200
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, prefix, str(start_at), str(tries), str(limit)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [worker.communicate(timeout=120) for worker in workers]
    for worker, (_, err) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, err
    allowed = [int(out.strip().splitlines()[-1]) for out, _ in outputs]
    # Each alone would have let 50 through (100 in all) with per-process counting.
    assert sum(allowed) == limit, allowed


# --- Logging in ---------------------------------------------------------------------


@pytest.fixture
def zoe(db):
    user = UserFactory(email="zoe@example.com", username="zoe")
    user.set_password(PASSWORD)
    user.save()
    return user


@override_settings(LIMIT_LOGIN_ACCOUNT=(3, 900))
def test_wrong_passwords_pause_the_account_and_even_the_right_one_is_refused(
    client, zoe, limit_clock
):
    for _ in range(3):
        wrong = _login(client, "zoe@example.com", "guess")
        assert wrong.status_code == 200 and "didn't match" in wrong.content.decode()
    limit_clock.advance(60)
    # Another client, the right password: still refused while the account is paused.
    right = _login(Client(REMOTE_ADDR="10.9.9.9"), "Zoe@Example.com", PASSWORD)
    assert right.status_code == 429
    assert right["Retry-After"] == "840"
    page = right.content.decode()
    assert "Too many sign-in attempts" in page and "try again in 14 minutes" in page
    assert 'value="Zoe@Example.com"' in page  # what was typed is kept
    assert "_auth_user_id" not in client.session
    limit_clock.advance(840)
    again = _login(client, "zoe@example.com", PASSWORD)
    assert again.status_code == 302
    assert client.session["_auth_user_id"] == str(zoe.pk)


@override_settings(LIMIT_LOGIN_ACCOUNT=(3, 900))
def test_an_unknown_account_is_paused_exactly_like_a_known_one(zoe, limit_clock):
    answers = {}
    for username in ("zoe@example.com", "nobody@example.com"):
        client = Client(REMOTE_ADDR=f"10.0.0.{len(answers) + 1}")
        answers[username] = [_login(client, username, "guess") for _ in range(5)]
    known, unknown = answers["zoe@example.com"], answers["nobody@example.com"]
    assert [r.status_code for r in known] == [200, 200, 200, 429, 429]
    assert [r.status_code for r in unknown] == [r.status_code for r in known]
    for a, b in zip(known, unknown, strict=True):
        assert _page(a).replace("zoe@example.com", "X") == _page(b).replace(
            "nobody@example.com", "X"
        )
        assert a.get("Retry-After") == b.get("Retry-After")


@override_settings(LIMIT_LOGIN_CLIENT=(5, 900))
def test_one_client_trying_many_accounts_is_paused(zoe, limit_clock):
    attacker = Client(REMOTE_ADDR="203.0.113.7")
    statuses = [_login(attacker, f"user{n}@example.com", "guess").status_code for n in range(6)]
    assert statuses == [200] * 5 + [429]
    assert _login(attacker, "zoe@example.com", PASSWORD).status_code == 429
    assert _login(Client(REMOTE_ADDR="198.51.100.1"), "zoe@example.com", PASSWORD).status_code == (
        302
    )


@override_settings(LIMIT_LOGIN_ACCOUNT=(2, 900))
def test_a_right_password_gives_its_attempt_back(zoe, limit_clock):
    for _ in range(5):
        client = Client()
        assert _login(client, "zoe@example.com", PASSWORD).status_code == 302
    assert _login(Client(), "zoe@example.com", "guess").status_code == 200


@override_settings(LIMIT_LOGIN_ACCOUNT=(2, 900))
def test_the_admin_login_is_paused_too(db, limit_clock):
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    admin.set_password(PASSWORD)
    admin.save()
    client = Client()
    for _ in range(2):
        client.post("/admin/login/", {"username": "root", "password": "guess"})
    response = client.post("/admin/login/", {"username": "root", "password": PASSWORD})
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "Too many sign-in attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session
    # A wrong password that is not paused is the admin's usual answer.
    assert Client().post("/admin/login/", {"username": "x", "password": "y"}).status_code == 200


# --- Mails a visitor triggers -------------------------------------------------------


@override_settings(LIMIT_MAIL_RECIPIENT=(3, 3600))
def test_password_reset_mails_to_one_address_are_limited(
    zoe, limit_clock, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):  # the mail is a task, on commit
        statuses = [
            Client(REMOTE_ADDR=f"10.1.0.{n}")
            .post(reverse("password_reset"), {"email": "zoe@example.com"})
            .status_code
            for n in range(3)
        ]
    assert statuses == [302, 302, 302] and len(mail.outbox) == 3
    refused = Client(REMOTE_ADDR="10.1.0.9").post(
        reverse("password_reset"), {"email": "zoe@example.com"}
    )
    assert refused.status_code == 429 and refused["Retry-After"] == "3600"
    page = refused.content.decode()
    assert "Too many emails have been asked for" in page and "try again in 60 minutes" in page
    assert 'value="zoe@example.com"' in page
    assert len(mail.outbox) == 3


@override_settings(LIMIT_MAIL_RECIPIENT=(2, 3600))
def test_password_reset_answers_an_unknown_address_like_a_known_one(zoe, limit_clock):
    for email in ("zoe@example.com", "nobody@example.com"):
        answers = [
            Client().post(reverse("password_reset"), {"email": email}).status_code for _ in range(3)
        ]
        assert answers == [302, 302, 429], email


@override_settings(LIMIT_MAIL_SENDER=(3, 3600))
def test_one_client_gets_one_mail_budget_whatever_the_path(zoe, limit_clock, commit):
    sender = Client(REMOTE_ADDR="203.0.113.50")
    with commit():
        assert sender.post(reverse("password_reset"), {"email": "zoe@example.com"}).status_code == (
            302
        )
        assert sender.post("/library/lost/", {"email": "a@example.com"}).status_code == 200
        seller = {**SIGNUP, "email": "maelle@example.com"}
        assert sender.post(reverse("catalog:sell_signup"), seller).status_code == 302
    sent = len(mail.outbox)
    assert sent == 2  # the reset and the verification; the lost link had no purchases
    sender.logout()
    with commit():
        refused = sender.post(
            reverse("delivery:signup"), {"email": "b@example.com", "password": PASSWORD}
        )
    assert refused.status_code == 429 and "Retry-After" in refused
    assert len(mail.outbox) == sent
    assert not get_user_model().objects.filter(email="b@example.com").exists()


@override_settings(LIMIT_MAIL_SENDER=(1, 3600))
def test_a_seller_signup_past_the_limit_creates_nothing_and_keeps_the_form(db, limit_clock, commit):
    client = Client()
    with commit():
        client.post(reverse("catalog:sell_signup"), SIGNUP)
    client.logout()
    with commit():
        refused = client.post(
            reverse("catalog:sell_signup"), {**SIGNUP, "email": "victim@example.com"}
        )
    assert refused.status_code == 429 and "Retry-After" in refused
    page = refused.content.decode()
    assert "Too many emails have been asked for" in page
    assert 'value="victim@example.com"' in page and "Zoé Martin" in page
    assert not Seller.objects.filter(user__email="victim@example.com").exists()
    assert len(mail.outbox) == 1


@override_settings(LIMIT_MAIL_RECIPIENT=(3, 3600))
def test_resending_the_verification_is_limited_per_recipient(db, limit_clock, commit):
    seller = SellerFactory(email_verified_at=None)
    client = Client()
    client.force_login(seller.user)
    statuses = []
    for _ in range(4):
        limit_clock.advance(61)  # past the double-click pause
        with commit():
            statuses.append(client.post(reverse("catalog:sell_verify_resend")).status_code)
    assert statuses == [302, 302, 302, 429]
    assert len(mail.outbox) == 3
