"""The receipt rule, attacked: knowing a buyer's email or an order's URL opens nothing."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from delivery import access
from delivery.models import Entitlement, LibraryLink
from shop.models import Order
from tests.factories import ProductFactory, add_file
from tests.helpers import pay, start_checkout

pytestmark = pytest.mark.django_db

VICTIM = "victim@example.com"


def _links(html: str) -> list[str]:
    return re.findall(r'href="(/(?:orders|library)/[^"]+/files/[^"]+)"', html)


@pytest.fixture
def victim_purchase():
    """The victim paid for a product with nine files, in their own browser."""
    product = ProductFactory(title="Paid album", price=900)
    for n in range(9):
        add_file(product, f"track {n}".encode() * 50, f"{n:02}.mp3", position=n)
    browser = Client()
    start_checkout(browser, product, email=VICTIM, key="v" * 24)
    order = Order.objects.get(buyer_email=VICTIM)
    pay(browser, order)
    return order


def test_a_free_checkout_with_the_victims_email_opens_none_of_their_purchases(victim_purchase):
    free = ProductFactory(title="Free zine", pricing="free", price=0)
    free_file = add_file(free, b"free bytes" * 10, "zine.pdf")
    attacker = Client()
    response = start_checkout(attacker, free, email=VICTIM, key="a" * 24)
    order = Order.objects.get(buyer_email=VICTIM, total=0)
    assert order.status == Order.Status.PAID
    receipt = attacker.get(response["Location"])
    html = receipt.content.decode()
    # Only the free order's own file is offered, never the victim's paid album.
    links = _links(html)
    free_ent = order.items.get().entitlement
    assert links == [
        reverse("shop:receipt_file", args=[order.public_id, free_ent.pk, free_file.pk])
    ]
    assert "Paid album" not in html
    # The old one-click library door is gone, and no library link was minted.
    door = attacker.post(f"/orders/{order.public_id}/library/")
    assert door.status_code == 404
    assert not LibraryLink.objects.exists()
    # Asking the free receipt for the victim's paid file is refused.
    paid = victim_purchase.items.get()
    asset = paid.product.assets.first()
    stolen = attacker.get(
        reverse("shop:receipt_file", args=[order.public_id, paid.entitlement_id, asset.pk])
    )
    assert stolen.status_code == 404


def test_the_receipt_url_alone_gives_no_downloads(victim_purchase):
    stranger = Client()
    receipt = stranger.get(victim_purchase.get_absolute_url())
    assert receipt.status_code == 200
    assert _links(receipt.content.decode()) == []
    paid = victim_purchase.items.get()
    asset = paid.product.assets.first()
    url = reverse(
        "shop:receipt_file", args=[victim_purchase.public_id, paid.entitlement_id, asset.pk]
    )
    assert stranger.get(url).status_code == 404
    assert not LibraryLink.objects.exists()


def test_the_paying_browser_sees_all_nine_files_and_only_them(victim_purchase, client):
    # Same browser as the victim? Re-create it: the fixture's client held the session.
    other = ProductFactory(title="Another purchase", price=100)
    add_file(other, b"other" * 10, "other.pdf")
    start_checkout(client, other, email=VICTIM, key="w" * 24)
    second = Order.objects.get(buyer_email=VICTIM, items__product=other)
    pay(client, second)
    html = client.get(second.get_absolute_url()).content.decode()
    assert len(_links(html)) == 1 and "Paid album" not in html
    # The first order's receipt is not this browser's.
    assert _links(client.get(victim_purchase.get_absolute_url()).content.decode()) == []


def test_a_receipt_held_too_long_offers_nothing(client, settings):
    product = ProductFactory(price=100)
    add_file(product)
    start_checkout(client, product)
    order = Order.objects.get()
    pay(client, order)
    assert _links(client.get(order.get_absolute_url()).content.decode())
    settings.RECEIPT_ACCESS_SECONDS = -1
    assert _links(client.get(order.get_absolute_url()).content.decode()) == []


def test_a_revoked_purchase_on_a_receipt_is_refused(client):
    product = ProductFactory(price=100)
    asset = add_file(product)
    start_checkout(client, product)
    order = Order.objects.get()
    pay(client, order)
    entitlement = order.items.get().entitlement
    Entitlement.objects.filter(pk=entitlement.pk).update(
        status="revoked", revoked_reason="Refunded"
    )
    url = reverse("shop:receipt_file", args=[order.public_id, entitlement.pk, asset.pk])
    assert client.get(url).status_code == 403


# The holder matrix: each proof reaches exactly its own purchases.


@pytest.fixture
def two_libraries(django_user_model):
    product = ProductFactory()
    add_file(product)
    from delivery.services import entitlement_grant, library_link_create

    mine = entitlement_grant(email="me@example.com", product=product)
    theirs = entitlement_grant(email="them@example.com", product=product)
    user = django_user_model.objects.create_user("me", "me@example.com", "pw")
    mine.library.user = user
    mine.library.save()
    token = library_link_create(library=mine.library)
    return mine, theirs, user, token


@pytest.mark.parametrize("proof", ["link", "account", "receipt"])
def test_each_holder_reaches_its_own_purchase_and_nothing_else(two_libraries, proof):
    mine, theirs, user, token = two_libraries
    if proof == "link":
        holder = access.holder_for_link(access.access_library_link(token=token), token=token)
    elif proof == "account":
        holder = access.holder_for_account(user)
    else:
        holder = access.Holder(entitlement_ids=frozenset({mine.pk}))
    assert access.access_entitlement(holder=holder, entitlement_id=mine.pk) == mine
    with pytest.raises(access.LinkInvalid):
        access.access_entitlement(holder=holder, entitlement_id=theirs.pk)


def test_an_unknown_revoked_or_oversized_library_token_is_refused(two_libraries):
    _, _, _, token = two_libraries
    for bad in ("", None, "x" * 129, token + "x"):
        with pytest.raises(access.LinkInvalid):
            access.access_library_link(token=bad)
    link = access.access_library_link(token=token)
    from delivery.services import library_link_revoke

    library_link_revoke(link=link)
    with pytest.raises(access.LinkInvalid):
        access.access_library_link(token=token)


def test_an_anonymous_or_inactive_account_holds_nothing(two_libraries):
    from django.contrib.auth.models import AnonymousUser

    _, _, user, _ = two_libraries
    assert access.holder_for_account(AnonymousUser()) is None
    user.is_active = False
    assert access.holder_for_account(user) is None
