"""Probes, request ids, JSON logs, cache headers and proxies: what an operator relies on."""

from __future__ import annotations

import json
import logging

import pytest
from django.core.files.base import ContentFile
from django.db import connection

from catalog.headers import content_security_policy
from catalog.requestid import JsonFormatter, RequestIdFilter, request_id_set
from catalog.storage import public_storage
from shop import health

pytestmark = pytest.mark.django_db


def test_healthz_answers_without_asking_anything(client, monkeypatch):
    monkeypatch.setitem(health.CHECKS, "database", lambda: 1 / 0)
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_readyz_names_every_part_when_all_answer(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "cache": "ok", "storage": "ok", "queue": "ok"},
    }
    assert "no-cache" in response["Cache-Control"]


def test_readyz_is_503_when_a_part_is_down_and_tells_no_secret(client, monkeypatch, caplog):
    def down() -> None:
        raise ConnectionError("redis://:hunter2@10.0.0.5:6379/0 refused")

    monkeypatch.setitem(health.CHECKS, "cache", down)
    with caplog.at_level(logging.ERROR):
        response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable" and body["checks"]["cache"] == "unavailable"
    assert body["checks"]["database"] == "ok"
    assert b"hunter2" not in response.content and b"10.0.0.5" not in response.content
    assert "hunter2" in caplog.text  # the operator's log has the reason


def test_readyz_checks_the_database_queue(client, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    assert client.get("/readyz").json()["checks"]["queue"] == "ok"


def test_probes_are_not_redirected_to_https(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/healthz").status_code == 200
    assert client.get("/").status_code == 301


def test_a_request_id_is_taken_from_the_proxy_or_made_and_answered(client):
    given = client.get("/healthz", HTTP_X_REQUEST_ID="abc-123")
    assert given["X-Request-ID"] == "abc-123"
    made = client.get("/healthz")
    assert len(made["X-Request-ID"]) == 32 and made["X-Request-ID"] != "abc-123"
    # Anything else a client sends is replaced, not echoed into a header or a log.
    forged = client.get("/healthz", HTTP_X_REQUEST_ID='x" injected=1 ' + "y" * 80)
    assert len(forged["X-Request-ID"]) == 32


def test_json_log_lines_carry_the_request_id_and_extras():
    record = logging.LogRecord("shop", logging.WARNING, __file__, 1, "paid %s", ("o1",), None)
    record.order = 42
    with request_id_set("rid-7"):
        RequestIdFilter().filter(record)
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "paid o1" and line["level"] == "WARNING"
    assert line["request_id"] == "rid-7" and line["order"] == 42 and line["logger"] == "shop"


def test_the_settings_check_kept_connections_before_use():
    assert connection.settings_dict["CONN_HEALTH_CHECKS"] is True


def test_covers_are_cached_for_a_year_and_other_public_files_are_not(client, settings):
    cover = "covers/" + "a" * 32 + "/1200.jpg"
    public_storage().save(cover, ContentFile(b"\xff\xd8\xff jpeg"))
    preview = public_storage().save("previews/7/preview.mp3", ContentFile(b"ID3 mp3"))
    response = client.get(f"/media/{cover}")
    assert response.status_code == 200
    assert response["Cache-Control"] == "public, max-age=31536000, immutable"
    assert "immutable" not in client.get(f"/media/{preview}").get("Cache-Control", "")


def test_covers_in_a_bucket_are_uploaded_with_long_cache_headers():
    from catalog.storage_s3 import PublicS3Storage

    storage = PublicS3Storage(bucket_name="b", access_key="a", secret_key="s")
    cover = storage.get_object_parameters("avatars/" + "0" * 32 + "/200.webp")
    assert cover["CacheControl"] == "public, max-age=31536000, immutable"
    assert "CacheControl" not in storage.get_object_parameters("previews/1/preview.pdf")


def test_static_files_on_a_cdn_are_allowed_by_the_page_policy(settings):
    settings.STATIC_URL = "https://cdn.example.com/static/"
    policy = content_security_policy()
    assert "script-src 'self' https://cdn.example.com;" in policy
    assert "style-src 'self' https://cdn.example.com" in policy
