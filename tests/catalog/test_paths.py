"""Paths reversed once per process (catalog/paths.py, decision 97): the same as ``reverse``."""

from __future__ import annotations

import pytest
from django.urls import reverse, set_script_prefix
from django.utils import translation

from catalog.paths import path_to
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


def test_paths_follow_the_language_and_the_script_prefix():
    product = ProductFactory()
    kwargs = {"seller": product.seller.slug, "product": product.slug}
    assert path_to("catalog:product", **kwargs) == reverse("catalog:product", kwargs=kwargs)
    with translation.override("fr"):
        assert path_to("catalog:home") == "/fr/"
        assert product.get_absolute_url().startswith("/fr/@")
    assert path_to("catalog:home") == "/"
    set_script_prefix("/shop/")
    try:
        assert path_to("catalog:home") == "/shop/"
    finally:
        set_script_prefix("/")
