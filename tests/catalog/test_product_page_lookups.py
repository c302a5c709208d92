"""The product page's form: a field nobody set is blank without Django's slow fallback."""

from __future__ import annotations

import pytest
from django.template import base as template_base

from catalog.models import Product
from catalog.views import product_context
from tests.factories import ProductFactory, add_file

pytestmark = pytest.mark.django_db


def test_the_product_page_asks_no_missing_key_the_slow_way(client, monkeypatch):
    # Django looks a missing key up as an attribute next, then runs dir() on the dict.
    product = ProductFactory(pricing=Product.Pricing.FIXED, price=900)
    add_file(product, name="a.pdf")
    calls = []

    def counting_dir(value=None):
        calls.append(type(value).__name__)
        return dir(value)

    monkeypatch.setattr(template_base, "dir", counting_dir, raising=False)
    response = client.get(product.get_absolute_url())
    assert response.status_code == 200
    assert b'name="email"' in response.content and b'id="code"' in response.content
    assert calls == []


def test_errors_and_values_given_are_kept_and_the_others_blank():
    product = ProductFactory(pricing=Product.Pricing.FIXED, price=900)
    product.ordered_assets = []
    context = product_context(
        product, errors={"email": "Enter an email."}, form_values={"email": "a@b.c"}
    )
    assert context["errors"]["email"] == "Enter an email."
    assert context["errors"]["code"] == "" and "code" not in context["errors"]
    assert context["form_values"]["email"] == "a@b.c"
    assert context["form_values"]["code"] == ""
