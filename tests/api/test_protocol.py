"""The protocol around every endpoint: errors as JSON, bodies, ETags, the rate limit."""

from __future__ import annotations

import socket
import uuid

import pytest
from django.test import override_settings

from catalog.limits import Rate, limit_hit
from shop.api.models import ApiToken
from tests.api.conftest import Api, Shop, error_of

pytestmark = pytest.mark.django_db


def test_malformed_json_is_a_400_that_says_so(api: Api, shop_a: Shop) -> None:
    response = api.call("POST", "products", token=shop_a.token(), raw='{"title": "A",')
    assert response.status_code == 400
    assert error_of(response)["code"] == "malformed_json"


def test_a_body_that_is_not_json_is_a_415(api: Api, shop_a: Shop) -> None:
    response = api.call(
        "POST", "products", token=shop_a.token(), raw="title=A", content_type="text/plain"
    )
    assert response.status_code == 415
    assert "application/json" in error_of(response)["message"]


def test_wrong_types_are_a_422_naming_each_field(api: Api, shop_a: Shop) -> None:
    response = api.call(
        "POST",
        "products",
        token=shop_a.token(),
        body={"title": ["not", "text"], "price": "lots", "kind": "sculpture"},
    )
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "invalid"
    assert {"title", "price", "kind"} <= set(error["fields"])


def test_unknown_fields_are_refused_not_ignored(api: Api, shop_a: Shop) -> None:
    response = api.call(
        "PATCH",
        f"products/{shop_a.product.pk}",
        token=shop_a.token(),
        body={"title": "New", "seller": 99},
    )
    assert response.status_code == 422
    assert "Unknown field" in error_of(response)["fields"]["seller"][0]
    shop_a.product.refresh_from_db()
    assert shop_a.product.title == "Alice's book"


def test_a_json_array_instead_of_an_object_is_a_422(api: Api, shop_a: Shop) -> None:
    response = api.call("POST", "products", token=shop_a.token(), body=[1, 2])
    assert response.status_code == 422
    assert error_of(response)["code"] == "invalid"


def test_a_huge_body_is_a_413_in_the_api_shape(api: Api, shop_a: Shop, settings) -> None:  # type: ignore[no-untyped-def]
    settings.REQUEST_MAX_BYTES = 2000
    body = {"title": "Big", "description": "x" * 5000}
    response = api.call("POST", "products", token=shop_a.token(), body=body)
    assert response.status_code == 413
    assert error_of(response)["code"] == "too_large"


def test_a_wrong_method_is_a_405_with_allow(api: Api, shop_a: Shop) -> None:
    response = api.call("DELETE", f"products/{shop_a.product.pk}", token=shop_a.token())
    assert response.status_code == 405
    assert error_of(response)["code"] == "method_not_allowed"
    assert set(response["Allow"].replace(" ", "").split(",")) == {"GET", "PATCH"}


@pytest.mark.parametrize("path", ["/api/v1/nothing", "/api/v1/products/1/nope", "/api/v2/products"])
def test_an_unknown_address_is_a_json_404(api: Api, shop_a: Shop, path: str) -> None:
    response = api.get(path, shop_a.token())
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_a_path_id_that_is_not_a_number_is_a_404(api: Api, shop_a: Shop) -> None:
    response = api.get("products/abc", shop_a.token())
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


@pytest.mark.parametrize(
    "query",
    [{"limit": "0"}, {"limit": "1000"}, {"limit": "many"}, {"since": "yesterday"}],
)
def test_unreadable_query_parameters_are_a_400(api: Api, shop_a: Shop, query) -> None:  # type: ignore[no-untyped-def]
    response = api.get("sales", shop_a.token(), **query)
    assert response.status_code == 400
    assert error_of(response)["code"] == "bad_query"


def test_since_after_until_is_a_400(api: Api, shop_a: Shop) -> None:
    response = api.get("sales", shop_a.token(), since="2025-03-02", until="2025-03-01")
    assert response.status_code == 400
    assert error_of(response)["code"] == "bad_query"


def test_a_period_the_dashboard_refuses_is_a_400_with_its_reason(api: Api, shop_a: Shop) -> None:
    response = api.get("stats", shop_a.token(), range="custom", **{"from": "2025-03-01"})
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "bad_period" and "both" in error["message"]


def test_an_unchanged_read_answers_304_to_its_etag(api: Api, shop_a: Shop) -> None:
    first = api.get(f"products/{shop_a.product.pk}", shop_a.token())
    tag = first["ETag"]
    assert tag.startswith('"') and "Authorization" in first["Vary"]
    again = api.call(
        "GET",
        f"products/{shop_a.product.pk}",
        token=shop_a.token(),
        headers={"If-None-Match": tag},
    )
    assert again.status_code == 304 and again.content == b""
    assert again["ETag"] == tag
    api.call(
        "PATCH", f"products/{shop_a.product.pk}", token=shop_a.token(), body={"title": "Renamed"}
    )
    changed = api.call(
        "GET",
        f"products/{shop_a.product.pk}",
        token=shop_a.token(),
        headers={"If-None-Match": tag},
    )
    assert changed.status_code == 200 and changed["ETag"] != tag
    assert changed.json()["title"] == "Renamed"


@override_settings(LIMIT_API_TOKEN=(3, 60))
def test_past_the_limit_a_token_gets_429_with_retry_after(
    api: Api, shop_a: Shop, limit_clock
) -> None:  # type: ignore[no-untyped-def]
    token = shop_a.token()
    for _ in range(3):
        assert api.get("products", token).status_code == 200
    limit_clock.advance(20)
    refused = api.get("products", token)
    assert refused.status_code == 429
    assert refused["Retry-After"] == "40"
    assert error_of(refused)["code"] == "rate_limited"
    # Counted per token: another token of the same seller still works.
    assert api.get("products", shop_a.token("catalog:read")).status_code == 200
    limit_clock.advance(41)
    assert api.get("products", token).status_code == 200


def _redis_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def test_the_limit_is_counted_in_the_shared_cache(api: Api, shop_a: Shop) -> None:
    """Hits another web process counted in Redis count here too."""
    if not _redis_reachable():
        pytest.skip("no Redis at 127.0.0.1:6379")
    redis = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/0",
            "KEY_PREFIX": f"echoppe-test-{uuid.uuid4().hex}",
        }
    }
    token = shop_a.token()
    pk = ApiToken.objects.get(prefix=token[:12]).pk
    # No clear() at the end: on Redis it empties the whole database; the keys expire alone.
    with override_settings(CACHES=redis, LIMIT_API_TOKEN=(5, 3600)):
        assert api.get("products", token).status_code == 200
        # The other process: four hits of the same token, straight into the shared counter.
        for _ in range(4):
            limit_hit(scope="api-token", subject=f"token:{pk}", rate=Rate(5, 3600), message="")
        response = api.get("products", token)
    assert response.status_code == 429


def test_answers_are_in_english_whatever_the_client_language(api: Api, shop_a: Shop) -> None:
    response = api.call(
        "POST",
        "products",
        token=shop_a.token(),
        body={"title": "F", "price": 0},
        headers={"Accept-Language": "fr"},
    )
    assert response.status_code == 422
    assert "more than zero" in error_of(response)["fields"]["price"][0]


def test_unknown_query_parameters_are_refused(api: Api, shop_a: Shop) -> None:
    response = api.get("sales", shop_a.token(), prodcut=shop_a.product.pk)
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "bad_query" and set(error["fields"]) == {"prodcut"}
