"""License keys: minted once per paid purchase, shown to the buyer, managed by the seller."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from catalog.license_format import ALPHABET, license_key_make, license_pattern_error
from catalog.services import CatalogError
from catalog.services.products import product_license_set
from delivery.licenses.models import LicenseKey
from delivery.licenses.services import license_issue, license_verify
from delivery.models import Entitlement
from delivery.services import entitlement_grant
from shop.models import Order
from shop.services import OrderLine, order_create, order_dispute, order_fulfil, order_item_refund
from tests.factories import ProductFactory, SellerFactory, add_file
from tests.helpers import library_url_from_last_email, pay, start_checkout

pytestmark = pytest.mark.django_db


def keyed_product(**extra):
    product = ProductFactory(
        license_keys=True, license_format="NT-XXXX-XXXX-XXXX-XXXX", price=1500, **extra
    )
    add_file(product)
    return product


def paid_order(product, email="fan@example.com", key="a"):
    order = order_create(
        lines=[OrderLine(product)], email=email, checkout_key=key * 16, provider="test"
    )
    return order_fulfil(order_id=order.pk, payment_id=f"pi_{key}")


def test_a_pattern_makes_keys_of_random_unambiguous_characters():
    key = license_key_make("NT-XXXX-XXXX-XXXX-XXXX")
    assert re.fullmatch(r"NT-(\w{4}-){3}\w{4}", key)
    assert set(key.replace("-", "")[2:]) <= set(ALPHABET)
    assert not set("01OIL5S8B2ZUV") & set(ALPHABET)
    assert license_key_make("XXXX-XXXX-XXXX-XXXX") != license_key_make("XXXX-XXXX-XXXX-XXXX")


@pytest.mark.parametrize(
    ("pattern", "problem"),
    [
        ("XXXX-XXXX", "at least 16"),
        ("nt-xxxx", "capital letters"),
        ("A B-" + "X" * 16, "capital letters"),
        ("X" * 65, "at most 64"),
    ],
)
def test_a_pattern_that_would_make_weak_or_odd_keys_is_refused(pattern, problem):
    error = license_pattern_error(pattern)
    assert error is not None and problem in error
    assert license_pattern_error("XXXX-XXXX-XXXX-XXXX") is None


def test_a_paid_order_mints_one_key_and_paying_again_mints_no_other():
    product = keyed_product(license_max_activations=3)
    order = paid_order(product)
    entitlement = order.items.get().entitlement
    license = LicenseKey.objects.get()
    assert license.entitlement == entitlement and license.product == product
    assert license.key.startswith("NT-") and license.max_uses == 3 and license.uses == 0
    # A webhook delivered again, the success page, a repair: the same order, the same key.
    order_fulfil(order_id=order.pk, payment_id="pi_a")
    assert license_issue(entitlement=entitlement) == license
    assert LicenseKey.objects.count() == 1


def test_a_product_without_keys_and_a_teaser_grant_mint_none():
    plain = ProductFactory(price=500)
    paid_order(plain)
    keyed = keyed_product()
    entitlement_grant(email="backer@example.com", product=keyed)  # not a sale
    assert not LicenseKey.objects.exists()
    assert Entitlement.objects.count() == 2


def test_a_payment_rolled_back_leaves_no_key(monkeypatch):
    product = keyed_product()
    order = order_create(
        lines=[OrderLine(product)], email="fan@example.com", checkout_key="r" * 16, provider="test"
    )
    from shop import services

    def broken(**kwargs):
        raise RuntimeError("the invoice counter is down")

    monkeypatch.setattr(services, "invoice_issue", broken)
    with pytest.raises(RuntimeError):
        order_fulfil(order_id=order.pk, payment_id="pi_r")
    assert not LicenseKey.objects.exists() and not Entitlement.objects.exists()


def test_a_full_refund_and_a_dispute_mark_the_key_refunded():
    product = keyed_product()
    refunded = paid_order(product, key="a")
    disputed = paid_order(product, email="other@example.com", key="b")
    order_item_refund(item_id=refunded.items.get().pk, amount=1500)
    order_dispute(order_id=disputed.pk, reason="fraudulent")
    for order in (refunded, disputed):
        license = LicenseKey.objects.get(entitlement__order_item__order=order)
        verdict = license_verify(seller=product.seller, product_id=product.pk, key=license.key)
        assert (verdict.valid, verdict.reason) == (False, "refunded")
        assert license.is_refunded


def test_a_partial_refund_keeps_the_key_valid():
    product = keyed_product()
    order = paid_order(product)
    order_item_refund(item_id=order.items.get().pk, amount=500)
    license = LicenseKey.objects.get()
    verdict = license_verify(seller=product.seller, product_id=product.pk, key=license.key)
    assert verdict.valid and not license.is_refunded


def test_a_key_is_found_whatever_its_case_and_spaces_and_only_for_its_product():
    product = keyed_product()
    paid_order(product)
    license = LicenseKey.objects.get()
    typed = " " + license.key.lower().replace("-", " - ") + " "
    assert license_verify(seller=product.seller, product_id=product.pk, key=typed).valid
    other = ProductFactory(seller=product.seller)
    assert license_verify(seller=product.seller, product_id=other.pk, key=license.key).reason == (
        "unknown"
    )
    stranger = SellerFactory()
    verdict = license_verify(seller=stranger, product_id=product.pk, key=license.key)
    assert (verdict.valid, verdict.reason, verdict.license) == (False, "unknown", None)


def test_activations_stop_at_the_limit_and_an_instance_counts_once():
    product = keyed_product(license_max_activations=2)
    paid_order(product)
    key = LicenseKey.objects.get().key
    seller, pid = product.seller, product.pk

    first = license_verify(seller=seller, product_id=pid, key=key, activate=True, instance="pc-1")
    again = license_verify(seller=seller, product_id=pid, key=key, activate=True, instance="pc-1")
    second = license_verify(seller=seller, product_id=pid, key=key, activate=True, instance="pc-2")
    third = license_verify(seller=seller, product_id=pid, key=key, activate=True, instance="pc-3")
    assert (first.activated, first.uses) == (True, 1)
    assert (again.valid, again.activated, again.uses) == (True, False, 1)
    assert (second.activated, second.uses) == (True, 2)
    assert (third.valid, third.reason, third.uses) == (False, "limit_reached", 2)
    license = LicenseKey.objects.get()
    assert list(license.activations.values_list("instance", flat=True)) == ["pc-1", "pc-2"]
    # Checking without activating still says the key is good.
    assert license_verify(seller=seller, product_id=pid, key=key).valid


def test_the_product_form_turns_keys_on_with_a_format_and_a_limit(client):
    product = ProductFactory(price=900)
    client.force_login(product.seller.user)
    page = client.get(reverse("catalog:sell_product", args=[product.pk]))
    assert 'name="license_keys"' in page.content.decode()
    form = {
        "title": product.title,
        "slug": product.slug,
        "kind": "ebook",
        "currency": "EUR",
        "pricing": "fixed",
        "price": "9",
        "status": "published",
        "license_keys": "on",
        "license_format": "nt-xxxx-xxxx-xxxx-xxxx",
        "license_max_activations": "3",
    }
    response = client.post(reverse("catalog:sell_product", args=[product.pk]), form)
    assert response.status_code == 302, response.content.decode()[:2000]
    product.refresh_from_db()
    assert product.license_keys and product.license_max_activations == 3
    assert product.license_format == "NT-XXXX-XXXX-XXXX-XXXX"
    weak = client.post(
        reverse("catalog:sell_product", args=[product.pk]),
        {**form, "license_format": "XXXX", "title": "Changed"},
    )
    assert weak.status_code == 400 and "at least 16" in weak.content.decode()
    product.refresh_from_db()
    assert product.title != "Changed" and product.license_format == "NT-XXXX-XXXX-XXXX-XXXX"


def test_the_service_refuses_a_weak_format_and_a_zero_limit():
    product = ProductFactory()
    with pytest.raises(CatalogError) as weak:
        product_license_set(product=product, enabled=True, pattern="XX", max_activations=None)
    assert weak.value.field == "license_format"
    with pytest.raises(CatalogError) as zero:
        product_license_set(product=product, enabled=True, pattern="X" * 16, max_activations=0)
    assert zero.value.field == "license_max_activations"
    product.refresh_from_db()
    assert not product.license_keys


def test_the_buyer_sees_the_key_in_the_library_and_on_the_receipt(
    client, django_capture_on_commit_callbacks
):
    product = keyed_product()
    start_checkout(client, product)
    order = Order.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        pay(client, order)
    key = LicenseKey.objects.get().key
    receipt = client.get(order.get_absolute_url()).content.decode()
    assert key in receipt and "data-copy=" in receipt and "delivery/copy.js" in receipt
    library = client.get(library_url_from_last_email()).content.decode()
    assert f'value="{key}"' in library


def test_the_seller_sees_resets_revokes_and_replaces_a_key_of_their_own_sale(client):
    product = keyed_product(license_max_activations=1)
    order = paid_order(product)
    license = LicenseKey.objects.get()
    old = license.key
    seller = product.seller
    license_verify(seller=seller, product_id=product.pk, key=old, activate=True, instance="a")
    client.force_login(seller.user)
    sales = client.get("/sell/sales/").content.decode()
    detail_url = reverse("licenses:sell_license", args=[license.pk])
    assert detail_url in sales
    listing = client.get(reverse("licenses:sell_licenses"), {"product": product.pk})
    assert old in listing.content.decode() and order.buyer_email in listing.content.decode()
    assert old in client.get(detail_url).content.decode()

    def act(action):
        url = reverse("licenses:sell_license_action", args=[license.pk, action])
        return client.post(url)

    assert act("reset").status_code == 302
    license.refresh_from_db()
    assert license.uses == 0 and not license.activations.exists()
    act("revoke")
    assert license_verify(seller=seller, product_id=product.pk, key=old).reason == "revoked"
    act("restore")
    assert license_verify(seller=seller, product_id=product.pk, key=old).valid
    act("regenerate")
    license.refresh_from_db()
    assert license.key != old
    assert license_verify(seller=seller, product_id=product.pk, key=old).reason == "unknown"
    assert license_verify(seller=seller, product_id=product.pk, key=license.key).valid
    assert act("explode").status_code == 404


def test_another_seller_gets_404_on_every_key_page_and_changes_nothing(client):
    product = keyed_product()
    paid_order(product)
    license = LicenseKey.objects.get()
    client.force_login(SellerFactory().user)
    assert client.get(reverse("licenses:sell_license", args=[license.pk])).status_code == 404
    assert client.get(reverse("licenses:sell_licenses"), {"product": product.pk}).status_code == 404
    assert license.key not in client.get(reverse("licenses:sell_licenses")).content.decode()
    for action in ("reset", "revoke", "restore", "regenerate"):
        url = reverse("licenses:sell_license_action", args=[license.pk, action])
        assert client.post(url).status_code == 404
    fresh = LicenseKey.objects.get()
    assert (fresh.key, fresh.revoked_at) == (license.key, None)
