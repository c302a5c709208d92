"""Writes: the product form's own rules, with their messages, as JSON field errors."""

from __future__ import annotations

import pytest

from catalog.models import Product
from tests.api.conftest import Api, Shop, error_of
from tests.factories import add_file

pytestmark = pytest.mark.django_db


def _fields(response) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    assert response.status_code == 422, response.content
    return error_of(response)["fields"]


def test_a_product_is_created_as_a_draft_with_its_tags(api: Api, shop_a: Shop) -> None:
    response = api.call(
        "POST",
        "products",
        token=shop_a.token("catalog:write"),
        body={"title": "Tide Tables", "price": 1250, "tags": ["Sea", "tides", "sea"]},
    )
    assert response.status_code == 201
    body = response.json()
    product = Product.objects.get(pk=body["id"])
    assert product.seller == shop_a.seller and product.status == Product.Status.DRAFT
    assert body["slug"] == "tide-tables" and body["price"] == 1250
    assert body["tags"] == ["sea", "tides"]


def test_publishing_a_product_without_a_file_is_refused_with_the_forms_reason(
    api: Api, shop_a: Shop
) -> None:
    response = api.call(
        "POST",
        "products",
        token=shop_a.token(),
        body={"title": "Too soon", "price": 500, "status": "published"},
    )
    (message,) = _fields(response)["status"]
    assert "add at least one file" in message
    assert not Product.objects.filter(title="Too soon").exists()


def test_an_unverified_seller_cannot_publish(api: Api, shop_a: Shop) -> None:
    shop_a.seller.email_verified_at = None
    shop_a.seller.save()
    draft = api.call("POST", "products", token=shop_a.token(), body={"title": "D", "price": 500})
    product = Product.objects.get(pk=draft.json()["id"])
    add_file(product)
    response = api.call(
        "PATCH", f"products/{product.pk}", token=shop_a.token(), body={"status": "published"}
    )
    assert "verify your email address" in _fields(response)["status"][0]


def test_a_draft_with_a_file_is_published_by_a_verified_seller(api: Api, shop_a: Shop) -> None:
    draft = api.call("POST", "products", token=shop_a.token(), body={"title": "D", "price": 500})
    product = Product.objects.get(pk=draft.json()["id"])
    add_file(product)
    response = api.call(
        "PATCH", f"products/{product.pk}", token=shop_a.token(), body={"status": "published"}
    )
    assert response.status_code == 200 and response.json()["status"] == "published"
    product.refresh_from_db()
    assert product.status == Product.Status.PUBLISHED and product.title == "D"


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"title": "F", "pricing": "fixed", "price": 0}, "price", "more than zero"),
        (
            {"title": "P", "pricing": "pwyw", "price": 500, "suggested_price": 100},
            "suggested_price",
            "below the minimum",
        ),
        ({"title": "C", "price": 500, "currency": "JPY"}, "currency", "currency"),
        ({"title": "   ", "price": 500}, "title", "title"),
        ({"title": "S", "price": 500, "slug": "Not A Slug!"}, "slug", "hyphens"),
    ],
)
def test_the_forms_rules_come_back_as_field_errors(
    api: Api, shop_a: Shop, body: dict, field: str, words: str
) -> None:
    fields = _fields(api.call("POST", "products", token=shop_a.token(), body=body))
    assert words in fields[field][0]


def test_a_slug_already_used_by_the_seller_is_refused(api: Api, shop_a: Shop) -> None:
    body = {"title": "Twice", "price": 500, "slug": shop_a.product.slug}
    fields = _fields(api.call("POST", "products", token=shop_a.token(), body=body))
    assert "already have a product" in fields["slug"][0]


def test_an_update_changes_only_what_it_names(api: Api, shop_a: Shop) -> None:
    product = shop_a.product
    response = api.call(
        "PATCH", f"products/{product.pk}", token=shop_a.token(), body={"description": "*New*"}
    )
    assert response.status_code == 200
    product.refresh_from_db()
    assert product.description == "*New*"
    assert (product.title, product.price, product.status) == ("Alice's book", 1200, "published")


def test_null_for_a_field_that_needs_a_value_is_refused(api: Api, shop_a: Shop) -> None:
    response = api.call(
        "PATCH", f"products/{shop_a.product.pk}", token=shop_a.token(), body={"title": None}
    )
    assert "cannot be null" in _fields(response)["title"][0]


def test_too_many_tags_are_refused(api: Api, shop_a: Shop) -> None:
    body = {"title": "T", "price": 500, "tags": [f"t{i}" for i in range(11)]}
    assert "tags" in _fields(api.call("POST", "products", token=shop_a.token(), body=body))


def test_a_read_only_token_cannot_write(api: Api, shop_a: Shop) -> None:
    response = api.call(
        "POST", "products", token=shop_a.token("catalog:read"), body={"title": "X", "price": 500}
    )
    assert response.status_code == 403
    assert not Product.objects.filter(title="X").exists()
