from __future__ import annotations

import factory
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile

from catalog.models import Asset, Product, Seller
from catalog.services import asset_create


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    password = factory.django.Password("pass-word-123")


class SellerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Seller

    user = factory.SubFactory(UserFactory)
    slug = factory.Sequence(lambda n: f"seller-{n}")
    display_name = factory.Sequence(lambda n: f"Seller {n}")
    currency = "EUR"


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    seller = factory.SubFactory(SellerFactory)
    slug = factory.Sequence(lambda n: f"product-{n}")
    title = factory.Sequence(lambda n: f"Product {n}")
    kind = Product.Kind.EBOOK
    pricing = Product.Pricing.FIXED
    price = 900
    currency = "EUR"
    status = Product.Status.PUBLISHED


def add_file(
    product: Product,
    content: bytes = b"%PDF-1.4\n%demo\n%%EOF\n",
    name: str = "book.pdf",
    role: str = Asset.Role.DELIVERABLE,
    position: int = 1,
) -> Asset:
    return asset_create(
        product=product,
        file=ContentFile(content, name=name),
        original_filename=name,
        role=role,
        position=position,
    )
