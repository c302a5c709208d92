"""Staff typing numbers in the admin go through the same parser as everyone else."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from catalog.models import Product
from shop.models import DiscountCode
from tests.factories import ProductFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff() -> Client:
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def _product_form(product: Product, price: str) -> dict[str, str]:
    return {
        "seller": str(product.seller_id),
        "slug": product.slug,
        "title": product.title,
        "kind": product.kind,
        "pricing": product.pricing,
        "price": price,
        "suggested_price": "",
        "currency": product.currency,
        "status": product.status,
        "description": "",
        "assets-TOTAL_FORMS": "0",
        "assets-INITIAL_FORMS": "0",
        "assets-MIN_NUM_FORMS": "0",
        "assets-MAX_NUM_FORMS": "1000",
    }


@pytest.mark.parametrize("typed", ["١٢٠٠", "1_000", "+12", "1e3", "10000000000"])
def test_a_product_price_the_parser_refuses_is_refused_in_the_admin(staff, typed):
    product = ProductFactory(price=900)
    url = reverse("admin:catalog_product_change", args=[product.pk])
    response = staff.post(url, _product_form(product, typed))
    assert response.status_code == 200  # the form again, with the message
    assert response.context["adminform"].form.errors["price"]
    product.refresh_from_db()
    assert product.price == 900


def test_a_plain_price_is_saved_from_the_admin(staff):
    product = ProductFactory(price=900)
    url = reverse("admin:catalog_product_change", args=[product.pk])
    response = staff.post(url, _product_form(product, "1200"))
    assert response.status_code == 302, response.context["adminform"].form.errors
    product.refresh_from_db()
    assert product.price == 1200


def test_the_discount_admin_reads_its_counts_with_the_parser(staff):
    form = staff.get(reverse("admin:shop_discountcode_add")).context["adminform"].form
    assert type(form.fields["value"]).__name__ == "ParsedCountField"
    assert form.fields["max_uses"].clean("12") == 12
    with pytest.raises(Exception, match="digits"):
        form.fields["max_uses"].clean("١٢")
    assert DiscountCode.objects.count() == 0
