from __future__ import annotations

import pytest
from django.core.cache import cache

from catalog.models import Asset, Product
from tests.factories import ProductFactory, add_file


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    cache.clear()


@pytest.fixture
def product(db: None) -> Product:
    return ProductFactory(title="Field Notes", price=1250)


@pytest.fixture
def pdf_asset(product: Product) -> Asset:
    return add_file(
        product, b"%PDF-1.4\n" + bytes(range(256)) * 40 + b"\n%%EOF\n", "Ñotes – été.pdf"
    )
