"""Sellers paid through Stripe Connect: separate charges and transfers, and a ledger for the rest."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from delivery.models import Entitlement
from shop.ledger import seller_balance
from shop.models import LedgerEntry, Order, PayoutAccount, SellerTransfer
from tests.factories import ProductFactory, SellerFactory, add_file
from tests.helpers import KEY
from tests.stripe_fake import event

pytestmark = pytest.mark.django_db


def _paid_cart(client, stripe_fake, deliver, capture, products):
    for product in products:
        client.post(f"/cart/add/{product.pk}/")
    client.post("/cart/", {"email": "fan@example.com", "checkout_key": KEY})
    order = Order.objects.get()
    session = stripe_fake.complete(order.provider_session_id)
    with capture(execute=True):
        deliver(event("checkout.session.completed", session))
    order.refresh_from_db()
    return order


def test_connected_sellers_are_paid_by_transfer_and_the_others_are_owed(
    client, db, stripe_fake, deliver, django_capture_on_commit_callbacks, settings
):
    settings.PLATFORM_FEE_BASIS_POINTS = 1000
    settings.PLATFORM_FEE_FIXED = 0
    connected, waiting = SellerFactory(), SellerFactory()
    PayoutAccount.objects.create(
        seller=connected,
        stripe_account_id="acct_ready",
        details_submitted=True,
        payouts_enabled=True,
    )
    first = ProductFactory(seller=connected, price=1000)
    second = ProductFactory(seller=waiting, price=2000)
    for product in (first, second):
        add_file(product)
    order = _paid_cart(
        client, stripe_fake, deliver, django_capture_on_commit_callbacks, [first, second]
    )

    [transfer] = stripe_fake.called("POST", "/v1/transfers")
    assert transfer["destination"] == "acct_ready"
    assert transfer["amount"] == "900"  # €10 less the 10 % fee
    assert transfer["transfer_group"] == f"order_{order.public_id}"
    assert transfer["source_transaction"] == order.provider_charge_id
    assert seller_balance(seller=connected) == 0
    assert seller_balance(seller=waiting) == 1800
    assert SellerTransfer.objects.get().amount == 900


def test_a_seller_who_connects_later_receives_what_is_owed(
    client, db, stripe_fake, deliver, django_capture_on_commit_callbacks
):
    seller = SellerFactory()
    product = ProductFactory(seller=seller, price=1000)
    add_file(product)
    _paid_cart(client, stripe_fake, deliver, django_capture_on_commit_callbacks, [product])
    owed = seller_balance(seller=seller)
    assert owed > 0 and not stripe_fake.called("POST", "/v1/transfers")

    client.force_login(seller.user)
    start = client.post("/sell/payouts/connect/")
    account = PayoutAccount.objects.get(seller=seller)
    assert start.status_code == 302 and start["Location"].startswith("https://connect.stripe.com/")
    [link] = stripe_fake.called("POST", "/v1/account_links")
    assert link["account"] == account.stripe_account_id and link["type"] == "account_onboarding"

    stripe_fake.accounts[account.stripe_account_id].update(
        details_submitted=True, charges_enabled=True, payouts_enabled=True
    )
    updated = event("account.updated", stripe_fake.accounts[account.stripe_account_id])
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver(updated).content == b"account updated"
    account.refresh_from_db()
    assert account.can_receive_transfers
    [transfer] = stripe_fake.called("POST", "/v1/transfers")
    assert transfer["amount"] == str(owed)
    assert seller_balance(seller=seller) == 0
    assert "Connected" in client.get("/sell/payouts/").content.decode()


def test_refunds_net_against_what_is_owed(
    client, db, stripe_fake, deliver, django_capture_on_commit_callbacks
):
    from shop.services import order_item_refund

    seller = SellerFactory()
    product = ProductFactory(seller=seller, price=1000)
    add_file(product)
    order = _paid_cart(client, stripe_fake, deliver, django_capture_on_commit_callbacks, [product])
    item = order.items.get()
    order_item_refund(item_id=item.pk, amount=500)
    assert seller_balance(seller=seller) == item.seller_share - item.seller_share // 2
    assert LedgerEntry.objects.filter(kind="refund").count() == 1


def test_the_return_from_onboarding_reads_the_account(client, db, stripe_fake):
    seller = SellerFactory()
    client.force_login(seller.user)
    client.post("/sell/payouts/connect/")
    account = PayoutAccount.objects.get()
    stripe_fake.accounts[account.stripe_account_id].update(
        details_submitted=True, payouts_enabled=True
    )
    client.get("/sell/payouts/return/")
    account.refresh_from_db()
    assert account.can_receive_transfers


def test_reconcile_fulfils_paid_sessions_the_webhook_missed(client, db, stripe_fake):
    product = ProductFactory(price=1000)
    add_file(product)
    client.post(f"/checkout/{product.pk}/", {"email": "fan@example.com", "checkout_key": KEY})
    order = Order.objects.get()
    stripe_fake.complete(order.provider_session_id)
    out = StringIO()
    call_command("payments_reconcile", "--dry-run", stdout=out)
    assert f"PAID SESSION {order.provider_session_id}" in out.getvalue()
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING
    call_command("payments_reconcile", "--since", "2000-01-01", stdout=out)
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert Entitlement.objects.count() == 1
    quiet = StringIO()
    call_command("payments_reconcile", stdout=quiet)
    assert "0 problems found" in quiet.getvalue()


def test_reconcile_grants_entitlements_a_paid_order_lacks(client, db, stripe_fake):
    product = ProductFactory(price=1000)
    add_file(product)
    client.post(f"/checkout/{product.pk}/", {"email": "fan@example.com", "checkout_key": KEY})
    order = Order.objects.get()
    stripe_fake.complete(order.provider_session_id)
    call_command("payments_reconcile", stdout=StringIO())
    item = order.items.get()
    entitlement = item.entitlement
    item.entitlement = None
    item.save()
    entitlement.delete()
    out = StringIO()
    call_command("payments_reconcile", stdout=out)
    assert "items without entitlements" in out.getvalue()
    assert order.items.get().entitlement is not None


def test_reconcile_rejects_a_bad_date(db, stripe_fake):
    with pytest.raises(CommandError, match="--since must be a date"):
        call_command("payments_reconcile", "--since", "yesterday")


def test_a_transfer_that_fails_stays_reserved_and_is_sent_again_with_the_same_key(
    client, db, stripe_fake, deliver, django_capture_on_commit_callbacks
):
    from shop.ledger import seller_payout

    seller = SellerFactory()
    PayoutAccount.objects.create(
        seller=seller, stripe_account_id="acct_ready", details_submitted=True, payouts_enabled=True
    )
    product = ProductFactory(seller=seller, price=1000)
    add_file(product)
    stripe_fake.fail["/v1/transfers"] = (500, "Stripe is down")
    _paid_cart(client, stripe_fake, deliver, django_capture_on_commit_callbacks, [product])
    # The transfer was tried and failed: it stays pending and the money is still owed.
    [pending] = SellerTransfer.objects.all()
    assert pending.is_pending and pending.amount == seller_balance(seller=seller) > 0
    assert LedgerEntry.objects.filter(seller=seller, transfer=pending).count() == 1

    del stripe_fake.fail["/v1/transfers"]
    sent = seller_payout(seller_id=seller.pk)
    assert sent is not None and sent.pk == pending.pk and not sent.is_pending
    assert seller_balance(seller=seller) == 0
    keys = {
        headers.get("Idempotency-Key")
        for method, path, _, headers in stripe_fake.calls
        if path == "/v1/transfers"
    }
    assert keys == {f"payout-transfer-{pending.pk}"}
    # Nothing more to send: a second payout moves nothing.
    calls = len(stripe_fake.called("POST", "/v1/transfers"))
    assert seller_payout(seller_id=seller.pk) is None
    assert len(stripe_fake.called("POST", "/v1/transfers")) == calls
    assert SellerTransfer.objects.count() == 1
