"""The quarter's OSS VAT report adds up to the VAT kept on the orders, to the cent."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from django.core.management import CommandError, call_command

from catalog.models import Product, Seller
from shop.models import Order, Refund
from shop.oss import Quarter, quarter_report
from shop.services import order_item_refund, order_refund_record
from tests.factories import ProductFactory, SellerFactory, add_file
from tests.stripe_fake import event

pytestmark = pytest.mark.django_db

Q1 = datetime(2027, 2, 10, 12, tzinfo=UTC)
Q2 = datetime(2027, 4, 2, 9, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _taxed(settings):
    settings.STRIPE_AUTOMATIC_TAX = True


def _sale(client, stripe_fake, deliver, capture, key, products, paid_at, **tax) -> Order:
    client.cookies.clear()
    for product in products:
        client.post(f"/cart/add/{product.pk}/")
    client.post("/cart/", {"email": f"{key}@example.com", "checkout_key": key * 16})
    order = Order.objects.get(checkout_key=key * 16)
    stripe_fake.apply_tax(order.provider_session_id, **tax)
    session = stripe_fake.complete(order.provider_session_id)
    with capture(execute=True):
        assert deliver(event("checkout.session.completed", session)).content == b"fulfilled"
    Order.objects.filter(pk=order.pk).update(paid_at=paid_at)
    order.refresh_from_db()
    return order


@pytest.fixture
def quarter_sales(client, stripe_fake, deliver, django_capture_on_commit_callbacks):
    exclusive = SellerFactory(tax_behavior=Seller.TaxBehavior.EXCLUSIVE)
    ebook = ProductFactory(kind=Product.Kind.EBOOK, price=1000, seller=exclusive)
    album = ProductFactory(kind=Product.Kind.MUSIC, price=1299)
    film = ProductFactory(kind=Product.Kind.VIDEO, price=2500)
    for product in (ebook, album, film):
        add_file(product)
    args = (client, stripe_fake, deliver, django_capture_on_commit_callbacks)
    return {
        "fr_cart": _sale(
            *args, "a", [ebook, album], Q1, country="FR", percent={ebook.pk: 5.5, album.pk: 20}
        ),
        "fr_album": _sale(*args, "b", [album], Q1, country="FR", percent=20),
        "de_film": _sale(*args, "c", [film], Q1, country="DE", percent=19),
        "us_film": _sale(*args, "d", [film], Q1, country="US", percent=0),
        "next_quarter": _sale(*args, "e", [film], Q2, country="DE", percent=19),
    }


def test_the_quarter_adds_up_to_the_vat_kept_on_its_orders(quarter_sales):
    rows = quarter_report(Quarter.parse("2027Q1"))
    table = {(r.country, r.rate): (r.net, r.vat, r.sales, r.refunds) for r in rows}
    fr_album_vat = 1299 - round(1299 * 100 / 120)  # 2.17 inside 12.99
    de_film_vat = 2500 - round(2500 * 100 / 119)  # 3.99 inside 25.00
    assert table == {
        ("DE", 1900): (2500 - de_film_vat, de_film_vat, 1, 0),
        ("FR", 550): (1000, 55, 1, 0),
        ("FR", 2000): (2 * (1299 - fr_album_vat), 2 * fr_album_vat, 2, 0),
    }
    eu_orders = [quarter_sales[k] for k in ("fr_cart", "fr_album", "de_film")]
    assert sum(r.vat for r in rows) == sum(o.tax_amount for o in eu_orders)
    assert sum(r.net for r in rows) == sum(o.net for o in eu_orders)
    assert quarter_sales["us_film"].tax_country == "US"  # outside the EU: not in OSS


def test_the_command_prints_the_same_table_as_csv(quarter_sales):
    out = io.StringIO()
    call_command("vat_report", "--quarter", "2027q1", stdout=out)
    lines = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [(r["country"], r["rate_percent"], r["vat"], r["sales"]) for r in lines] == [
        ("DE", "19", "3.99", "1"),
        ("FR", "5.5", "0.55", "1"),
        ("FR", "20", "4.34", "2"),
    ]
    assert {r["quarter"] for r in lines} == {"2027Q1"} and lines[0]["currency"] == "EUR"
    with pytest.raises(CommandError, match="write it like 2027Q1"):
        call_command("vat_report", "--quarter", "2027-1")


def test_a_refund_corrects_the_quarter_it_is_made_in(quarter_sales):
    before = quarter_report(Quarter.parse("2027Q1"))
    cart = quarter_sales["fr_cart"]
    album_line = cart.items.get(product__kind=Product.Kind.MUSIC)
    order_item_refund(item_id=album_line.pk, amount=1299)  # the album of the cart, in full
    # And Stripe's dashboard gives back 5.00 of the film sold in Germany.
    film = quarter_sales["de_film"]
    order_refund_record(order_id=film.pk, refunded_total=500, provider_refund_id="re_x", full=False)
    Refund.objects.update(created_at=Q2)
    assert quarter_report(Quarter.parse("2027Q1")) == before  # paid in Q1: unchanged
    q2 = {(r.country, r.rate): r for r in quarter_report(Quarter.parse("2027Q2"))}
    assert (q2["FR", 2000].vat, q2["FR", 2000].net, q2["FR", 2000].refunds) == (-217, -1082, 1)
    refund_vat = 500 * 399 // 2500
    next_sale = quarter_sales["next_quarter"]
    assert q2["DE", 1900].vat == next_sale.tax_amount - refund_vat
    assert (q2["DE", 1900].sales, q2["DE", 1900].refunds) == (1, 1)


def test_the_staff_page_shows_the_table_and_its_csv(client, admin_user, quarter_sales):
    assert client.get("/staff/vat/?quarter=2027Q1").status_code == 404  # not staff
    client.force_login(admin_user)
    page = client.get("/staff/vat/?quarter=2027Q1")
    html = page.content.decode()
    assert page.status_code == 200
    assert "<td>DE</td>" in html and "5.5" in html and "€0.55" in html
    assert "Quarters begin and end at midnight, UTC time." in html
    download = client.get("/staff/vat/?quarter=2027Q1&format=csv")
    assert download["Content-Type"] == "text/csv"
    assert 'filename="vat-2027Q1.csv"' in download["Content-Disposition"]
    assert download.content.decode().count("\n") == 4  # the header and three rows
    bad = client.get("/staff/vat/?quarter=soon")
    assert bad.status_code == 400 and "2027Q1" in bad.content.decode()


@pytest.mark.parametrize(("zone", "quarter"), [("UTC", "2027Q1"), ("Europe/Paris", "2027Q2")])
def test_the_quarter_ends_at_midnight_in_the_operator_s_time_zone(
    client, stripe_fake, deliver, django_capture_on_commit_callbacks, settings, zone, quarter
):
    # 22:30 UTC on 31 March is 00:30 on 1 April in Paris (summer time).
    late = datetime(2027, 3, 31, 22, 30, tzinfo=UTC)
    album = ProductFactory(kind=Product.Kind.MUSIC, price=1200)
    add_file(album)
    args = (client, stripe_fake, deliver, django_capture_on_commit_callbacks)
    order = _sale(*args, "z", [album], late, country="FR", percent=20)
    settings.VAT_REPORT_TIME_ZONE = zone
    other = "2027Q2" if quarter == "2027Q1" else "2027Q1"
    [row] = quarter_report(Quarter.parse(quarter))
    assert (row.country, row.rate, row.vat, row.sales) == ("FR", 2000, order.tax_amount, 1)
    assert quarter_report(Quarter.parse(other)) == []


def test_a_time_zone_that_does_not_exist_stops_the_start_with_its_name():
    import os
    import subprocess
    import sys

    env = {**os.environ, "VAT_REPORT_TIME_ZONE": "Europe/Atlantis"}
    done = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env={**env, "DJANGO_SETTINGS_MODULE": "shop.settings"},
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0
    assert (
        "VAT_REPORT_TIME_ZONE must be a time zone such as Europe/Paris, not 'Europe/Atlantis'"
        in done.stderr
    )
