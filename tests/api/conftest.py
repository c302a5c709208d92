"""Two sellers with a bit of everything, tokens for them, and a client that speaks the API."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from catalog.follows.models import Follow
from catalog.models import Asset, Product, Seller
from shop.api.scopes import SCOPES
from shop.api.services import api_token_create
from shop.funding.models import Campaign, Pledge, Tier
from shop.models import LedgerEntry, Order, OrderItem, Refund
from tests.factories import ProductFactory, SellerFactory, add_file

ALL_SCOPES = list(SCOPES)


def sale(
    product: Product, *, paid_at: datetime, price: int = 1000, email: str = "buyer@example.com"
) -> OrderItem:
    order = Order.objects.create(
        buyer_email=email,
        status=Order.Status.PAID,
        currency="EUR",
        subtotal=price,
        total=price,
        platform_fee=price // 10,
        provider="test",
        checkout_key=uuid.uuid4().hex,
        paid_at=paid_at,
    )
    item = OrderItem.objects.create(
        order=order,
        product=product,
        seller=product.seller,
        title=product.title,
        list_price=price,
        unit_price=price,
        platform_fee=price // 10,
    )
    LedgerEntry.objects.create(
        seller=product.seller, item=item, kind="sale", amount=item.seller_share, currency="EUR"
    )
    return item


def refund(item: OrderItem, amount: int = 500) -> LedgerEntry:
    row = Refund.objects.create(order=item.order, item=item, amount=amount, reason="Changed mind")
    item.refunded_amount += amount
    item.save(update_fields=["refunded_amount"])
    return LedgerEntry.objects.create(
        seller=item.seller,
        item=item,
        kind="refund",
        amount=-(amount * item.seller_share // item.unit_price),
        currency="EUR",
        refund=row,
    )


@dataclass
class Shop:
    seller: Seller
    product: Product
    asset: Asset
    item: OrderItem
    refund: LedgerEntry
    follow: Follow
    campaign_title: str
    tokens: dict[str, str] = field(default_factory=dict)

    def token(self, *scopes: str) -> str:
        key = ",".join(sorted(scopes or ALL_SCOPES))
        if key not in self.tokens:
            _, secret = api_token_create(
                seller=self.seller, name=f"test {key}", scopes=list(scopes or ALL_SCOPES)
            )
            self.tokens[key] = secret
        return self.tokens[key]


def make_shop(name: str) -> Shop:
    seller = SellerFactory(display_name=name)
    product = ProductFactory(seller=seller, title=f"{name}'s book", price=1200)
    asset = add_file(product)
    item = sale(product, paid_at=timezone.now() - timedelta(days=1))
    follow = Follow.objects.create(
        seller=seller, email=f"fan-of-{seller.slug}@example.com", confirmed_at=timezone.now()
    )
    record = ProductFactory(seller=seller, title=f"{name}'s album", status=Product.Status.DRAFT)
    campaign = Campaign.objects.create(
        seller=seller,
        product=record,
        title=f"{name}'s album",
        goal=5000,
        currency="EUR",
        deadline=timezone.now() + timedelta(days=10),
        release_date=(timezone.now() + timedelta(days=40)).date(),
        status=Campaign.Status.LIVE,
    )
    tier = Tier.objects.create(campaign=campaign, title="The album", minimum=1500)
    Pledge.objects.create(
        campaign=campaign,
        tier=tier,
        email="backer@example.com",
        amount=2000,
        currency="EUR",
        promised="The album.",
        status=Pledge.Status.ACTIVE,
        provider="test",
    )
    return Shop(seller, product, asset, item, refund(item), follow, campaign.title)


@pytest.fixture
def shop_a(db: None) -> Shop:
    return make_shop("Alice")


@pytest.fixture
def shop_b(db: None) -> Shop:
    return make_shop("Bruno")


class Api:
    """Real requests through Django's test client, with a token in the header."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def call(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        body: Any = None,
        raw: bytes | str | None = None,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
        **query: Any,
    ) -> Any:
        extra = dict(headers or {})
        if token is not None:
            extra["Authorization"] = f"Bearer {token}"
        data: Any = raw if raw is not None else (json.dumps(body) if body is not None else None)
        url = path if path.startswith("/") else f"/api/v1/{path}"
        if method == "GET":
            return self.client.get(url, query, headers=extra)
        if query:
            from urllib.parse import urlencode

            url += "?" + urlencode(query)
        kwargs: dict[str, Any] = {"headers": extra}
        if data is not None:
            kwargs.update(data=data, content_type=content_type)
        return getattr(self.client, method.lower())(url, **kwargs)

    def get(self, path: str, token: str | None = None, **query: Any) -> Any:
        return self.call("GET", path, token=token, **query)


@pytest.fixture
def api(client: Client) -> Api:
    return Api(client)


def error_of(response: Any) -> dict[str, Any]:
    """The error of a response, after checking it has the API's one shape."""
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    body = response.json()
    assert set(body) == {"error"}
    assert isinstance(body["error"]["code"], str) and body["error"]["message"]
    return body["error"]
