"""Every amount and count typed on the commerce side goes through ``catalog.money``:
pay what you want (checkout and cart), discount codes, refunds, the sales list."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from catalog.models import Product
from shop.models import DiscountCode, Order, Refund
from tests.factories import ProductFactory, SellerFactory, add_file
from tests.helpers import KEY, pay, start_checkout

pytestmark = pytest.mark.django_db

TEN_THOUSAND_DIGITS = "9" * 10_000

HOSTILE_AMOUNTS = [
    ("1e999990", "without an exponent: 1000, not 1e3."),
    ("1e999999", "without an exponent"),
    ("1e3", "without an exponent"),
    ("10^30", "without an exponent"),
    ("²", "with the digits 0 to 9, like 12.50."),
    ("١٢", "with the digits 0 to 9"),
    ("-5", "The amount cannot be negative."),
    ("12.345", "without a thousands separator, as 12345; amounts have at most 2 decimals"),
    ("1,000", "without a thousands separator, as 1000"),
    ("1 000", "looks like it has a thousands separator"),
    ("NaN", "Write the amount with digits, like 12.50."),
    ("Infinity", "Write the amount with digits, like 12.50."),
    (TEN_THOUSAND_DIGITS, "That is too long for a number"),
    ("", "Enter the amount you want to pay"),
    ("1000000", "At most €999,999.99."),
]


@pytest.fixture
def pwyw(db):
    product = ProductFactory(title="Zine", pricing=Product.Pricing.PWYW, price=0)
    add_file(product)
    return product


@pytest.mark.parametrize(("typed", "message"), HOSTILE_AMOUNTS)
def test_pay_what_you_want_checkout_refuses_a_hostile_amount_and_keeps_the_form(
    client, pwyw, typed, message
):
    response = start_checkout(client, pwyw, amount=typed, email="fan@example.com")
    page = response.content.decode()
    assert response.status_code == 400
    assert message in page
    assert 'value="fan@example.com"' in page
    assert not Order.objects.exists()


def test_pay_what_you_want_in_yen_has_no_decimals(client, db, settings):
    settings.STORE_CURRENCY = "JPY"
    product = ProductFactory(pricing=Product.Pricing.PWYW, price=0, currency="JPY")
    add_file(product)
    response = start_checkout(client, product, amount="12.5")
    assert response.status_code == 400
    assert "Write a whole number, like 1250." in response.content.decode()


@pytest.mark.parametrize(("typed", "message"), HOSTILE_AMOUNTS)
def test_the_cart_refuses_a_hostile_amount_and_adds_nothing(client, pwyw, typed, message):
    response = client.post(f"/cart/add/{pwyw.pk}/", {"amount": typed})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not client.session.get("cart", {}).get("lines")


def test_an_order_total_above_what_the_provider_can_charge_is_refused(client, db, settings):
    settings.AMOUNT_MAX_MINOR = 100_000  # €1,000.00
    first = ProductFactory(title="Big", price=60_000)
    second = ProductFactory(title="Bigger", price=60_000)
    for product in (first, second):
        add_file(product)
        client.post(f"/cart/add/{product.pk}/")
    response = client.post("/cart/", {"email": "fan@example.com", "checkout_key": KEY})
    assert response.status_code == 400
    assert "One order can come to at most €1,000.00" in response.content.decode()
    assert not Order.objects.exists()


@pytest.fixture
def seller_client(client, db):
    seller = SellerFactory()
    client.force_login(seller.user)
    client.seller = seller  # type: ignore[attr-defined]
    return client


@pytest.mark.parametrize(("typed", "message"), [a for a in HOSTILE_AMOUNTS if a[0]])
def test_a_fixed_discount_with_a_hostile_value_is_refused(seller_client, typed, message):
    response = seller_client.post(
        "/sell/codes/", {"code": "SPRING", "kind": "fixed", "value": typed}
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert message.replace("Enter the amount you want to pay", "Enter an amount") in page
    assert 'value="SPRING"' in page
    assert not DiscountCode.objects.exists()


@pytest.mark.parametrize(
    ("typed", "message"),
    [("1e999999", "without an exponent"), ("²", "digits 0 to 9"), ("١٢", "digits 0 to 9"),
     ("150", "up to 100"), ("12.345", "without a thousands separator"),
     (TEN_THOUSAND_DIGITS, "too long"), ("NaN", "with digits")],
)  # fmt: skip
def test_a_percentage_discount_with_a_hostile_value_is_refused(seller_client, typed, message):
    response = seller_client.post(
        "/sell/codes/", {"code": "SPRING", "kind": "percent", "value": typed}
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not DiscountCode.objects.exists()


@pytest.mark.parametrize(
    ("typed", "message"),
    [("1" + "0" * 30, "At most 1,000,000 uses."), ("10^30", "without an exponent"),
     ("²", "digits 0 to 9"), ("١٢", "digits 0 to 9"), ("-5", "cannot be negative"),
     ("0", "At least 1."), ("1,000", "Write 1000 without a thousands separator."),
     ("2.5", "Enter a whole number"), (TEN_THOUSAND_DIGITS, "too long")],
)  # fmt: skip
def test_a_discount_with_a_hostile_number_of_uses_is_refused(seller_client, typed, message):
    response = seller_client.post(
        "/sell/codes/", {"code": "SPRING", "kind": "percent", "value": "10", "max_uses": typed}
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert message in page and "or leave it empty for no limit" in page
    assert not DiscountCode.objects.exists()


@pytest.mark.parametrize("typed", ["²", "١٢", "1" + "0" * 30, "-1", "0", "x"])
def test_a_discount_for_a_product_id_that_is_not_one_is_refused(seller_client, typed):
    own = ProductFactory(seller=seller_client.seller)
    response = seller_client.post(
        "/sell/codes/",
        {"code": "SPRING", "kind": "percent", "value": "10", "products": [str(own.pk), typed]},
    )
    assert response.status_code == 400
    assert "Pick products from your own shop." in response.content.decode()
    assert not DiscountCode.objects.exists()


@pytest.mark.parametrize(
    ("typed", "message"),
    [("9999-12-31", "within ten years"), ("٢٠٣٠-01-01", "YYYY-MM-DD"), ("2030-W01-1", "YYYY-MM-DD"),
     ("20300101", "YYYY-MM-DD"), ("2030-01-01" + "0" * 5000, "YYYY-MM-DD")],
)  # fmt: skip
def test_a_discount_with_an_impossible_expiry_is_refused(seller_client, settings, typed, message):
    settings.TIME_ZONE = "America/New_York"  # 9999-12-31 end of day is past year 9999 in UTC
    response = seller_client.post(
        "/sell/codes/", {"code": "SPRING", "kind": "percent", "value": "10", "expires": typed}
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not DiscountCode.objects.exists()


def test_a_discount_typed_plainly_is_created(seller_client):
    response = seller_client.post(
        "/sell/codes/",
        {"code": "SPRING", "kind": "fixed", "value": "2,50", "max_uses": "100",
         "expires": (timezone.localdate() + timedelta(days=9 * 365)).isoformat()},
    )  # fmt: skip
    assert response.status_code == 302
    code = DiscountCode.objects.get()
    assert (code.value, code.max_uses) == (250, 100)


@pytest.fixture
def sale(client, db):
    seller = SellerFactory()
    product = ProductFactory(seller=seller, price=1000)
    add_file(product)
    start_checkout(client, product)
    order = Order.objects.get()
    pay(client, order)
    client.force_login(seller.user)
    return order.items.get()


@pytest.mark.parametrize(
    ("typed", "message"), [a for a in HOSTILE_AMOUNTS if a[0] and a[0] != "1000000"]
)
def test_a_refund_of_a_hostile_amount_is_refused_and_nothing_is_refunded(
    client, sale, typed, message
):
    response = client.post(f"/sell/sales/{sale.pk}/refund/", {"amount": typed, "reason": "Oops"})
    page = response.content.decode()
    assert response.status_code == 400
    assert message in page and "Oops" in page
    assert not Refund.objects.exists()
    sale.refresh_from_db()
    assert sale.refunded_amount == 0


@pytest.mark.parametrize("typed", ["²", "١٢", "0", "1" + "0" * 30])
def test_a_sales_page_number_that_is_not_one_is_answered_400(client, sale, typed):
    response = client.get("/sell/sales/", {"page": typed})
    page = response.content.decode()
    assert response.status_code == 400
    assert "No such page: " in page and sale.title in page
