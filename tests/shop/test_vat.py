"""EU VAT through Stripe Tax: what each Checkout line says, and settling taxed orders.

Stripe Tax's answer is played by ``FakeStripe.apply_tax`` (Stripe's own session,
line item, product and tax rate objects, with the VAT rounded per line), and
every settlement goes through the signed webhook, as in production.
"""

from __future__ import annotations

import pytest

from catalog.models import Product, Seller
from delivery.models import Entitlement
from shop.models import LedgerEntry, Order, PaymentEvent
from shop.services import order_item_refund
from tests.factories import ProductFactory, SellerFactory, add_file
from tests.helpers import KEY
from tests.stripe_fake import event

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _taxed(settings):
    settings.STRIPE_AUTOMATIC_TAX = True
    settings.PLATFORM_FEE_BASIS_POINTS = 500
    settings.PLATFORM_FEE_FIXED = 0


def _product(kind: str, price: int, seller: Seller | None = None) -> Product:
    product = ProductFactory(kind=kind, price=price, **({"seller": seller} if seller else {}))
    add_file(product)
    return product


def _checkout(client, *products: Product) -> Order:
    for product in products:
        client.post(f"/cart/add/{product.pk}/")
    response = client.post("/cart/", {"email": "fan@example.com", "checkout_key": KEY})
    assert response.status_code == 302
    return Order.objects.get()


def _pay(client, stripe_fake, deliver, capture, order, **tax):
    stripe_fake.apply_tax(order.provider_session_id, **tax)
    session = stripe_fake.complete(order.provider_session_id)
    with capture(execute=True):
        response = deliver(event("checkout.session.completed", session))
    order.refresh_from_db()
    return response


def test_each_line_says_whether_its_price_holds_vat_and_what_it_is(client, stripe_fake):
    inclusive = SellerFactory()
    exclusive = SellerFactory(tax_behavior=Seller.TaxBehavior.EXCLUSIVE)
    products = [
        _product(Product.Kind.EBOOK, 900, inclusive),
        _product(Product.Kind.MUSIC, 700, exclusive),
        _product(Product.Kind.VIDEO, 1500, inclusive),
        _product(Product.Kind.BUNDLE, 500, exclusive),
    ]
    _checkout(client, *products)
    [params] = stripe_fake.called("POST", "/v1/checkout/sessions")
    lines = {
        line["price_data"]["product_data"]["metadata"]["product"]: line["price_data"]
        for line in params["line_items"]
    }
    expected = [
        ("inclusive", "txcd_10302000"),  # digital books, downloaded, permanent rights
        ("exclusive", "txcd_10401100"),  # digital audio works, downloaded
        ("inclusive", "txcd_10402100"),  # digital audio-visual works, downloaded
        ("exclusive", "txcd_10000000"),  # electronically supplied services
    ]
    for product, (behavior, code) in zip(products, expected, strict=True):
        line = lines[str(product.pk)]
        assert line["tax_behavior"] == behavior
        assert line["product_data"]["tax_code"] == code
    assert params["automatic_tax"]["enabled"] == "true"
    assert params["tax_id_collection"]["enabled"] == "true"
    assert params["billing_address_collection"] == "required"


def test_without_automatic_tax_no_tax_id_is_asked(client, stripe_fake, settings):
    settings.STRIPE_AUTOMATIC_TAX = False
    _checkout(client, _product(Product.Kind.EBOOK, 900))
    [params] = stripe_fake.called("POST", "/v1/checkout/sessions")
    assert params["automatic_tax"]["enabled"] == "false"
    assert "tax_id_collection" not in params
    assert params["line_items"][0]["price_data"]["tax_behavior"] == "inclusive"


def test_a_new_seller_prices_include_vat_and_the_profile_changes_it(client):
    seller = SellerFactory()
    assert seller.tax_behavior == Seller.TaxBehavior.INCLUSIVE
    client.force_login(seller.user)
    page = client.get("/sell/profile/")
    assert 'value="exclusive"' in page.content.decode()
    form = {
        "display_name": seller.display_name,
        "slug": seller.slug,
        "currency": "EUR",
        "timezone": "UTC",
    }
    response = client.post("/sell/profile/", {**form, "tax_behavior": "exclusive"})
    assert response.status_code == 302
    seller.refresh_from_db()
    assert seller.tax_behavior == Seller.TaxBehavior.EXCLUSIVE
    # A form without the choice (an older page) keeps it; a made-up one is refused.
    client.post("/sell/profile/", form)
    bad = client.post("/sell/profile/", {**form, "tax_behavior": "neither"})
    seller.refresh_from_db()
    assert seller.tax_behavior == Seller.TaxBehavior.EXCLUSIVE
    assert bad.status_code == 400 or b"tax_behavior" in bad.content


def test_vat_added_on_top_is_accepted_and_kept(
    client, stripe_fake, deliver, django_capture_on_commit_callbacks
):
    seller = SellerFactory(tax_behavior=Seller.TaxBehavior.EXCLUSIVE)
    order = _checkout(client, _product(Product.Kind.MUSIC, 1000, seller))
    response = _pay(
        client,
        stripe_fake,
        deliver,
        django_capture_on_commit_callbacks,
        order,
        country="FR",
        percent=20,
    )
    assert response.content == b"fulfilled"
    assert stripe_fake.sessions[order.provider_session_id]["amount_total"] == 1200
    assert order.status == Order.Status.PAID and not order.flagged
    assert (order.total, order.tax_amount, order.tax_added, order.gross, order.net) == (
        1000,
        200,
        200,
        1200,
        1000,
    )
    assert order.tax_country == "FR" and order.billing_country == "FR"
    assert order.tax_breakdown == [
        {
            "country": "FR",
            "rate": 2000,
            "reason": "standard_rated",
            "net": 1000,
            "amount": 200,
            "lines": 1,
        }
    ]
    [item] = order.items.all()
    assert (item.tax_amount, item.tax_rate, item.tax_behavior) == (200, 2000, "exclusive")
    # The platform's 5 % is of the net price; the seller is owed the rest of it, no VAT.
    assert item.platform_fee == 50 and order.platform_fee == 50
    [sale] = LedgerEntry.objects.filter(kind="sale")
    assert sale.amount == 950
    assert Entitlement.objects.filter(status="active").count() == 1


def test_vat_inside_the_price_is_accepted_and_kept(
    client, stripe_fake, deliver, django_capture_on_commit_callbacks
):
    order = _checkout(client, _product(Product.Kind.VIDEO, 1200))
    response = _pay(
        client,
        stripe_fake,
        deliver,
        django_capture_on_commit_callbacks,
        order,
        country="DE",
        percent=19,
    )
    assert response.content == b"fulfilled"
    # 12.00 TTC at 19 %: 10.08 HT and 1.92 VAT, charged 12.00.
    assert stripe_fake.sessions[order.provider_session_id]["amount_total"] == 1200
    assert (order.tax_amount, order.tax_added, order.gross, order.net) == (192, 0, 1200, 1008)
    [item] = order.items.all()
    assert (item.tax_amount, item.tax_rate, item.net) == (192, 1900, 1008)
    assert item.platform_fee == 50  # 5 % of 10.08, rounded down
    assert LedgerEntry.objects.get(kind="sale").amount == 1008 - 50


def test_a_cart_of_two_rates_keeps_each_line_s_rate(
    client, stripe_fake, deliver, django_capture_on_commit_callbacks
):
    ebook = _product(Product.Kind.EBOOK, 1055)
    album = _product(Product.Kind.MUSIC, 1200)
    order = _checkout(client, ebook, album)
    response = _pay(
        client,
        stripe_fake,
        deliver,
        django_capture_on_commit_callbacks,
        order,
        country="FR",
        percent={ebook.pk: 5.5, album.pk: 20},
    )
    assert response.content == b"fulfilled"
    rates = {item.product_id: (item.tax_rate, item.tax_amount) for item in order.items.all()}
    assert rates == {ebook.pk: (550, 55), album.pk: (2000, 200)}
    assert order.tax_amount == 255 and order.gross == 2255
    assert sorted((g["rate"], g["net"], g["amount"]) for g in order.tax_breakdown) == [
        (550, 1000, 55),
        (2000, 1000, 200),
    ]
    # Exact: the shares, the fees and the VAT make up what the buyer paid.
    shares = sum(e.amount for e in LedgerEntry.objects.filter(kind="sale"))
    assert shares + order.platform_fee + order.tax_amount == order.gross


@pytest.mark.parametrize("change", ["tax_not_added", "one_cent_more", "tax_total_off"])
def test_taxed_totals_that_do_not_add_up_are_flagged_and_grant_nothing(
    client, stripe_fake, deliver, django_capture_on_commit_callbacks, change
):
    seller = SellerFactory(tax_behavior=Seller.TaxBehavior.EXCLUSIVE)
    order = _checkout(client, _product(Product.Kind.EBOOK, 1000, seller))
    session = stripe_fake.apply_tax(order.provider_session_id, country="FR", percent=5.5)
    if change == "tax_not_added":
        stripe_fake.sessions[session["id"]]["amount_total"] = 1000
    elif change == "one_cent_more":
        stripe_fake.sessions[session["id"]]["amount_total"] = 1056
    else:
        stripe_fake.sessions[session["id"]]["total_details"]["amount_tax"] = 56
    completed = stripe_fake.complete(session["id"])
    with django_capture_on_commit_callbacks(execute=True):
        response = deliver(event("checkout.session.completed", completed))
    order.refresh_from_db()
    assert response.content == b"amount mismatch"
    assert order.status == Order.Status.PENDING and order.flagged
    assert order.tax_amount == 0
    assert not Entitlement.objects.exists() and not LedgerEntry.objects.exists()


def test_a_business_buyer_s_reverse_charge_and_vat_number_are_kept(
    client, stripe_fake, deliver, django_capture_on_commit_callbacks
):
    seller = SellerFactory(tax_behavior=Seller.TaxBehavior.EXCLUSIVE)
    order = _checkout(client, _product(Product.Kind.EBOOK, 1000, seller))
    response = _pay(
        client,
        stripe_fake,
        deliver,
        django_capture_on_commit_callbacks,
        order,
        country="DE",
        percent=0,
        reason="reverse_charge",
        tax_ids=[("eu_vat", "DE123456789")],
    )
    assert response.content == b"fulfilled"
    assert order.reverse_charge and order.tax_amount == 0 and order.gross == 1000
    assert order.buyer_tax_ids == ["eu_vat:DE123456789"]
    assert order.tax_breakdown[0]["reason"] == "reverse_charge"


def test_when_stripe_cannot_list_the_taxed_lines_the_webhook_is_retried(
    client, stripe_fake, deliver, django_capture_on_commit_callbacks
):
    order = _checkout(client, _product(Product.Kind.MUSIC, 1200))
    stripe_fake.apply_tax(order.provider_session_id, country="FR", percent=20)
    completed = event("checkout.session.completed", stripe_fake.complete(order.provider_session_id))
    stripe_fake.fail[f"/v1/checkout/sessions/{order.provider_session_id}/line_items"] = (
        500,
        "Stripe is down",
    )
    first = deliver(completed)
    order.refresh_from_db()
    assert first.status_code == 503
    assert order.status == Order.Status.PENDING and not order.flagged
    assert not PaymentEvent.objects.exists()  # so Stripe's next delivery is not a duplicate
    stripe_fake.fail.clear()
    with django_capture_on_commit_callbacks(execute=True):
        again = deliver(completed)
    order.refresh_from_db()
    assert again.content == b"fulfilled" and order.tax_amount == 200


def test_the_card_s_country_is_kept_beside_the_billing_country(
    client, stripe_fake, deliver, django_capture_on_commit_callbacks
):
    order = _checkout(client, _product(Product.Kind.MUSIC, 1200))
    stripe_fake.apply_tax(order.provider_session_id, country="FR", percent=20)
    session = stripe_fake.complete(order.provider_session_id)
    stripe_fake.card_countries[stripe_fake.charges[session["payment_intent"]]] = "BE"
    with django_capture_on_commit_callbacks(execute=True):
        deliver(event("checkout.session.completed", session))
    order.refresh_from_db()
    assert (order.billing_country, order.card_country) == ("FR", "BE")
    assert order.country_evidence_conflicts
    assert order.provider_charge_id == stripe_fake.charges[session["payment_intent"]]


def test_refunding_a_taxed_order_gives_back_the_vat_too(
    client, stripe_fake, deliver, django_capture_on_commit_callbacks
):
    seller = SellerFactory(tax_behavior=Seller.TaxBehavior.EXCLUSIVE)
    order = _checkout(client, _product(Product.Kind.MUSIC, 1000, seller))
    _pay(
        client,
        stripe_fake,
        deliver,
        django_capture_on_commit_callbacks,
        order,
        country="FR",
        percent=20,
    )
    [item] = order.items.all()
    assert item.refundable == 1200
    order_item_refund(item_id=item.pk, amount=1200)
    order.refresh_from_db()
    item.refresh_from_db()
    [refund] = stripe_fake.called("POST", "/v1/refunds")
    assert refund["amount"] == "1200"
    assert order.status == Order.Status.REFUNDED
    assert item.entitlement.status == "revoked"
    # The seller gives back their share, never the VAT or the platform's fee.
    assert sum(e.amount for e in LedgerEntry.objects.filter(seller=seller)) == 0


def test_a_refund_webhook_of_a_taxed_charge_fits_the_order(
    client, stripe_fake, deliver, django_capture_on_commit_callbacks
):
    seller = SellerFactory(tax_behavior=Seller.TaxBehavior.EXCLUSIVE)
    order = _checkout(client, _product(Product.Kind.MUSIC, 1000, seller))
    _pay(
        client,
        stripe_fake,
        deliver,
        django_capture_on_commit_callbacks,
        order,
        country="FR",
        percent=20,
    )
    charge = stripe_fake.charge_for(
        order.provider_session_id, amount_refunded=1200, refunded=True, refunds={"data": []}
    )
    response = deliver(event("charge.refunded", charge))
    order.refresh_from_db()
    assert response.content == b"refund recorded"
    assert order.status == Order.Status.REFUNDED and not order.flagged


@pytest.mark.parametrize("rolled", [False, True], ids=["live", "rolled up"])
def test_the_dashboard_counts_gross_vat_and_net_exactly(
    client, stripe_fake, deliver, django_capture_on_commit_callbacks, rolled
):
    from datetime import timedelta

    from django.utils import timezone

    from shop.stats.facts import Scope
    from shop.stats.rollups import stats_books_roll
    from shop.stats.selectors import Figures, book_for, dashboard_read, period_from

    exclusive = SellerFactory(tax_behavior=Seller.TaxBehavior.EXCLUSIVE)
    inclusive = SellerFactory()
    ebook = _product(Product.Kind.EBOOK, 999, exclusive)
    album = _product(Product.Kind.MUSIC, 1299, inclusive)
    order = _checkout(client, ebook, album)
    _pay(
        client,
        stripe_fake,
        deliver,
        django_capture_on_commit_callbacks,
        order,
        country="FR",
        percent={ebook.pk: 5.5, album.pk: 20},
    )
    ebook_item = order.items.get(product=ebook)
    album_item = order.items.get(product=album)
    # 9.99 HT + 0.55 VAT; 12.99 TTC holds 2.17 VAT (12.99 - 10.82).
    assert (ebook_item.tax_amount, album_item.tax_amount) == (55, 217)
    order_item_refund(item_id=album_item.pk, amount=500)  # part of the album back

    now = timezone.now() + timedelta(days=2)
    if rolled:
        stats_books_roll(now=now)
    for scope, tz in ((Scope(), "UTC"), (Scope(seller_id=inclusive.pk), inclusive.timezone)):
        period = period_from({"range": "7d"}, now.date())
        board = dashboard_read(
            scope=scope, tz_name=tz, period=period, now=now, book=book_for(scope, tz)
        )
        figures = Figures.of(board.current)
        owed = sum(
            e.amount
            for e in LedgerEntry.objects.all()
            if scope.seller_id is None or e.seller_id == scope.seller_id
        )
        assert figures.net == owed  # exactly what the ledger owes the sellers
        if scope.seller_id is None:
            refund_vat = 500 * 217 // 1299
            assert figures.gross == 1054 + 1299 == order.gross
            assert figures.net_sales == order.net == 999 + 1082
            assert figures.vat == 55 + 217 - refund_vat
            assert figures.refunded == 500
            # Fees of 5 % on the net (0.49 + 0.54), less what the refund gave back of the
            # platform's: 5.00 less the seller's 3.95 and the VAT's 0.83.
            assert (refund_vat, order.platform_fee) == (83, 103)
            assert figures.fees == 103 - (500 - 395 - 83)
        else:
            assert figures.gross == 1299 and figures.net_sales == 1082


def _paid_order(key: str, billing: str, card: str) -> Order:
    return Order.objects.create(
        buyer_email=f"{key}@example.com",
        currency="EUR",
        total=1000,
        provider="stripe",
        checkout_key=key * 16,
        status=Order.Status.PAID,
        billing_country=billing,
        card_country=card,
    )


def test_the_admin_shows_orders_whose_country_evidence_disagrees(admin_client):
    conflict = _paid_order("a", "FR", "BE")
    agree = _paid_order("b", "FR", "FR")
    missing = _paid_order("c", "FR", "")
    listed = admin_client.get("/admin/shop/order/?country_evidence=conflict").content.decode()
    assert str(conflict.public_id) in listed
    assert str(agree.public_id) not in listed and str(missing.public_id) not in listed
    assert "⚠ FR / BE" in listed
    agreeing = admin_client.get("/admin/shop/order/?country_evidence=agree").content.decode()
    assert str(agree.public_id) in agreeing and str(conflict.public_id) not in agreeing
    page = admin_client.get(f"/admin/shop/order/{conflict.pk}/change/").content.decode()
    assert "the card was issued in BE" in page
    quiet = admin_client.get(f"/admin/shop/order/{agree.pk}/change/").content.decode()
    assert "the card was issued in" not in quiet


def test_the_receipt_email_shows_gross_vat_and_net_and_links_the_invoice(
    client, stripe_fake, deliver, django_capture_on_commit_callbacks
):
    from tests.helpers import emails_to

    seller = SellerFactory(tax_behavior=Seller.TaxBehavior.EXCLUSIVE)
    order = _checkout(client, _product(Product.Kind.MUSIC, 1000, seller))
    _pay(
        client,
        stripe_fake,
        deliver,
        django_capture_on_commit_callbacks,
        order,
        country="FR",
        percent=20,
    )
    [message] = emails_to("fan@example.com")
    for text in (message.body, message.alternatives[0][0]):
        assert "VAT added" in text and "€2.00" in text
        assert "Total paid" in text and "€12.00" in text
        assert "Total excluding VAT" in text and "€10.00" in text
        assert f"/orders/{order.public_id}/invoice.pdf" in text


def _export(client, seller, what):
    import csv
    import io

    client.force_login(seller.user)
    response = client.get(f"/sell/stats/{what}.csv", {"range": "7d"})
    assert response.status_code == 200, response.content[:300]
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(body, newline="")))


def test_the_dashboard_exports_say_gross_vat_and_net(
    client, stripe_fake, deliver, django_capture_on_commit_callbacks
):
    seller = SellerFactory(tax_behavior=Seller.TaxBehavior.EXCLUSIVE)
    order = _checkout(client, _product(Product.Kind.MUSIC, 1000, seller))
    _pay(
        client,
        stripe_fake,
        deliver,
        django_capture_on_commit_callbacks,
        order,
        country="FR",
        percent=20,
    )
    [line] = _export(client, seller, "orders")
    assert (line["price_paid"], line["tax_behavior"], line["vat_rate_percent"]) == (
        "10.00",
        "exclusive",
        "20.00",
    )
    assert (line["vat"], line["gross"], line["net"]) == ("2.00", "12.00", "10.00")
    # The platform's 5 % is of the net; the VAT is not the seller's.
    assert (line["platform_fee"], line["seller_share"]) == ("0.50", "9.50")
    total = _export(client, seller, "figures")[-1]
    assert total["period_start"] == "total"
    assert (total["gross"], total["vat"], total["net_sales"]) == ("12.00", "2.00", "10.00")
    [product] = _export(client, seller, "products")
    assert (product["gross"], product["vat"]) == ("12.00", "2.00")


def test_vat_inside_the_price_is_not_the_seller_s_share_in_the_export(
    client, stripe_fake, deliver, django_capture_on_commit_callbacks
):
    seller = SellerFactory()
    order = _checkout(client, _product(Product.Kind.VIDEO, 1200, seller))
    _pay(
        client,
        stripe_fake,
        deliver,
        django_capture_on_commit_callbacks,
        order,
        country="DE",
        percent=19,
    )
    [line] = _export(client, seller, "orders")
    assert (line["tax_behavior"], line["vat_rate_percent"], line["vat"]) == (
        "inclusive",
        "19.00",
        "1.92",
    )
    assert (line["price_paid"], line["gross"], line["net"]) == ("12.00", "12.00", "10.08")
    assert line["seller_share"] == "9.58"  # 10.08 less the 5 % fee of 0.50


@pytest.mark.parametrize("first", ["charge.refunded", "charge.dispute.created"])
def test_a_refund_or_dispute_that_overtakes_a_taxed_payment_settles_it_first(
    client, stripe_fake, deliver, django_capture_on_commit_callbacks, first
):
    from tests.stripe_fake import fixture

    seller = SellerFactory(tax_behavior=Seller.TaxBehavior.EXCLUSIVE)
    order = _checkout(client, _product(Product.Kind.MUSIC, 1000, seller))
    stripe_fake.apply_tax(order.provider_session_id, country="FR", percent=20)
    session = stripe_fake.complete(order.provider_session_id)
    charge = stripe_fake.charge_for(order.provider_session_id)  # 12.00: VAT on top
    if first == "charge.refunded":
        obj = {**charge, "amount_refunded": 1200, "refunded": True, "refunds": {"data": []}}
    else:
        obj = fixture(
            "dispute",
            charge=charge["id"],
            payment_intent=charge["payment_intent"],
            amount=1200,
            currency="eur",
        )
    with django_capture_on_commit_callbacks(execute=True):
        response = deliver(event(first, obj))
    order.refresh_from_db()
    # The session was settled from Stripe first: the VAT is known, no amount mismatch.
    assert response.content in (b"refund recorded", b"dispute recorded")
    assert "the order is for" not in order.flag_reason
    assert order.flagged == (first == "charge.dispute.created")  # a dispute needs a look
    assert (order.tax_amount, order.tax_added, order.gross) == (200, 200, 1200)
    assert order.status in (Order.Status.REFUNDED, Order.Status.DISPUTED)
    assert order.items.get().entitlement.status == "revoked"
    # The payment's own event, arriving last, changes nothing.
    with django_capture_on_commit_callbacks(execute=True):
        deliver(event("checkout.session.completed", session))
    assert Entitlement.objects.count() == 1
    assert Order.objects.get().status == order.status
