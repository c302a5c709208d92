"""The seller-side gate of commerce as a matrix: seller A against every sale,
code and payout page of seller B's.

The owner gets the page; another seller gets a 404, exactly as for an id that
does not exist; a logged-in account without a shop is sent to open one; an
anonymous visitor is sent to the login page. Pages that list (sales, codes,
payouts) show the seller's own rows only.
"""

from __future__ import annotations

import pytest
from django.http import Http404
from django.test import Client, RequestFactory
from django.urls import reverse

from shop import access
from shop.models import DiscountCode, Order
from shop.services import discount_code_create
from tests.factories import ProductFactory, SellerFactory, UserFactory, add_file
from tests.helpers import pay, start_checkout

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    """Seller B sold one product (a paid order) and has a discount code."""
    a, b = SellerFactory(slug="alice"), SellerFactory(slug="bruno")
    product = ProductFactory(seller=b, title="B's record", price=1000)
    add_file(product)
    buyer = Client()
    start_checkout(buyer, product)
    order = Order.objects.get()
    pay(buyer, order)
    discount_code_create(
        seller_id=b.pk, code="BRUNO10", kind="percent", value_text="10", currency="EUR"
    )
    return {
        "a": a,
        "b": b,
        "product": product,
        "item": order.items.get(),
        "code": DiscountCode.objects.get(seller=b),
    }


def _pages(w) -> list[tuple[str, str, str]]:
    """(name, method, url) of every commerce seller page that names one of B's objects."""
    item, code = w["item"], w["code"]
    return [
        ("refund page", "get", reverse("shop:sell_refund", args=[item.pk])),
        ("refund", "post", reverse("shop:sell_refund", args=[item.pk])),
        ("switch code off", "post", reverse("shop:sell_code_active", args=[code.pk])),
    ]


def _login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _call(client: Client, method: str, url: str):
    return client.post(url, {"amount": "1", "active": "0"}) if method == "post" else client.get(url)


@pytest.mark.parametrize("index", range(3))
def test_another_seller_gets_404_for_everything_of_bs(world, index):
    name, method, url = _pages(world)[index]
    response = _call(_login(world["a"].user), method, url)
    assert response.status_code == 404, name
    world["item"].refresh_from_db()
    world["code"].refresh_from_db()
    assert world["item"].refunded_amount == 0 and world["code"].active


@pytest.mark.parametrize("index", range(3))
def test_the_owner_reaches_every_page(world, index):
    name, method, url = _pages(world)[index]
    response = _call(_login(world["b"].user), method, url)
    assert response.status_code in (200, 302), name


@pytest.mark.parametrize("index", range(3))
def test_an_anonymous_visitor_is_sent_to_log_in(world, index):
    name, method, url = _pages(world)[index]
    response = _call(Client(), method, url)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login")), name


@pytest.mark.parametrize(
    "url_name", ["shop:sell_sales", "shop:sell_codes", "shop:sell_payouts", "shop:sell_refund"]
)
def test_an_account_without_a_shop_is_sent_to_open_one(world, url_name):
    args = [world["item"].pk] if url_name == "shop:sell_refund" else []
    response = _login(UserFactory()).get(reverse(url_name, args=args))
    assert response.status_code == 302
    assert response["Location"] == reverse("catalog:sell_start")


def test_listing_pages_show_only_the_sellers_own_rows(world):
    a = _login(world["a"].user)
    for url_name in ("shop:sell_sales", "shop:sell_codes"):
        html = a.get(reverse(url_name)).content.decode()
        assert "B&#x27;s record" not in html and "BRUNO10" not in html
    b_html = _login(world["b"].user).get(reverse("shop:sell_codes")).content.decode()
    assert "BRUNO10" in b_html


def test_the_gate_functions_refuse_another_sellers_objects(world):
    request = RequestFactory().get("/")
    request.user = world["a"].user
    for gate, obj in (
        (access.access_item_for_seller, world["item"]),
        (access.access_code_for_seller, world["code"]),
        (access.access_product_for_seller, world["product"]),
    ):
        with pytest.raises(Http404):
            gate(request, obj.pk)
    request.user = world["b"].user
    assert access.access_item_for_seller(request, world["item"].pk) == world["item"]
    assert access.access_code_for_seller(request, world["code"].pk) == world["code"]
    assert access.access_product_for_seller(request, world["product"].pk) == world["product"]
    request.user = UserFactory()
    with pytest.raises(Http404):
        access.access_seller(request)


def test_every_seller_page_shows_one_menu_that_reaches_all_of_them(world):
    b = _login(world["b"].user)
    wanted = [
        reverse(name)
        for name in (
            "catalog:sell_dashboard",
            "catalog:sell_product_new",
            "catalog:sell_imports",
            "catalog:sell_profile",
            "shop:sell_sales",
            "stats:dashboard",
            "shop:sell_codes",
            "shop:sell_payouts",
        )
    ]
    for page in wanted:
        html = b.get(page).content.decode()
        nav = html[
            html.index('<nav class="sell-nav"') : html.index("</nav>", html.index("sell-nav"))
        ]
        missing = [url for url in wanted if f'href="{url}"' not in nav]
        assert missing == [], page
