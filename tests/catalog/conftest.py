from __future__ import annotations

import pytest
from django.test import Client

from catalog.models import Asset, Product, Seller
from tests.factories import ProductFactory, SellerFactory, add_file, wav_bytes


@pytest.fixture
def seller(db: None) -> Seller:
    return SellerFactory(display_name="Maëlle Durand", slug="maelle")


@pytest.fixture
def seller_client(seller: Seller) -> Client:
    client = Client()
    client.force_login(seller.user)
    return client


@pytest.fixture
def draft(seller: Seller) -> Product:
    return ProductFactory(seller=seller, title="Night Trains", status=Product.Status.DRAFT)


@pytest.fixture
def track(draft: Product) -> Asset:
    return add_file(draft, wav_bytes(4000), "01 Departure.wav")
