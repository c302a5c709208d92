"""The OpenAPI document: valid OpenAPI 3, complete, and true to what the API answers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from openapi_spec_validator import validate
from schemathesis.specs.openapi.checks import positive_data_acceptance

from shop.api.scopes import SCOPES
from shop.wsgi import application
from tests.api.conftest import Api, Shop
from tests.api.operations import OPERATIONS

pytestmark = pytest.mark.django_db


def test_the_schema_is_valid_openapi_3(api: Api) -> None:
    response = api.get("openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.")
    validate(document)  # raises on the first departure from the specification


def test_the_schema_names_every_operation_with_bearer_auth_and_json_errors(api: Api) -> None:
    document = api.get("openapi.json").json()
    for op in OPERATIONS:
        described = document["paths"]["/api/v1" + op.path][op.method.lower()]
        assert described["security"], op
        assert {"401", "403", "404", "429"} <= set(described["responses"]), op
    schemes = document["components"]["securitySchemes"]
    assert {scheme["scheme"] for scheme in schemes.values()} == {"bearer"}


def test_the_docs_page_is_served_from_the_site_itself(api: Api) -> None:
    response = api.get("docs")
    assert response.status_code == 200
    page = response.content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in page
    assert "/api/v1/openapi.json" in page
    # The site's policy allows no inline script: the page's scripts are files of its own.
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert "<script>" not in page.replace(" ", "")


schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)


@pytest.fixture
def fuzz_token(shop_a: Shop) -> Iterator[str]:
    """A token for the fuzzer, which calls the WSGI application itself: as Django's test
    client does, the request signals must not close the test's database connection."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield shop_a.token(*SCOPES)
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@schema.include(path_regex="^/api/v1/(products|sales|refunds|stats|followers)").parametrize()
@settings(
    max_examples=8,
    deadline=None,
    database=None,
    derandomize=True,  # the same examples on every run: a failure is never a fluke
    suppress_health_check=list(HealthCheck),
)
def test_fuzzed_requests_never_break_the_api(case: Any, fuzz_token: str) -> None:
    # Every other check of schemathesis holds: no 500, status codes, content types and
    # bodies as documented, invalid input refused. Not "schema-valid input accepted": a
    # cursor or a product id can be well-formed and still not be this seller's.
    case.call_and_validate(
        headers={"Authorization": f"Bearer {fuzz_token}"},
        excluded_checks=[positive_data_acceptance],
    )
