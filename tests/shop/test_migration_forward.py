"""Pending transfers (shop 0006) arrive on a database that already paid sellers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from shop.ledger import seller_balance
from shop.models import LedgerEntry, SellerTransfer
from tests.migrating import leaves, migrate_to, migrated_back

BEFORE: dict[str, str | None] = {"shop": "0005_dashboard_moved_to_stats"}


@pytest.fixture
def before_pending_transfers() -> Iterator[list[tuple[str, str]]]:
    with migrated_back(BEFORE) as targets:
        yield targets


@pytest.mark.django_db(transaction=True)
def test_transfers_made_before_keep_their_ids_and_settle_their_entries(before_pending_transfers):
    old = MigrationExecutor(connection).loader.project_state(before_pending_transfers).apps
    user = old.get_model("auth", "User").objects.create(username="atelier")
    seller = old.get_model("catalog", "Seller").objects.create(
        user=user, slug="atelier", display_name="Atelier"
    )
    product = old.get_model("catalog", "Product").objects.create(
        seller=seller, slug="notes", title="Notes", price=1000
    )
    order = old.get_model("shop", "Order").objects.create(
        buyer_email="fan@example.com",
        currency="EUR",
        total=1000,
        provider="stripe",
        checkout_key="k" * 24,
        status="paid",
    )
    item = old.get_model("shop", "OrderItem").objects.create(
        order=order, product=product, seller=seller, title="Notes", list_price=1000, unit_price=1000
    )
    transfer = old.get_model("shop", "SellerTransfer").objects.create(
        seller=seller, amount=900, currency="EUR", stripe_transfer_id="tr_before"
    )
    old.get_model("shop", "LedgerEntry").objects.create(
        seller=seller, item=item, kind="sale", amount=900, currency="EUR", transfer=transfer
    )

    migrate_to(leaves())

    moved = SellerTransfer.objects.get()
    assert (moved.pk, moved.stripe_transfer_id, moved.amount) == (transfer.pk, "tr_before", 900)
    assert moved.source_transaction == "" and not moved.is_pending
    assert LedgerEntry.objects.get().transfer_id == moved.pk
    assert seller_balance(seller=moved.seller) == 0
