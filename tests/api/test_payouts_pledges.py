"""Payouts and a campaign's pledges through the API: figures from the ledger, pages, scopes."""

from __future__ import annotations

import pytest

from shop.api.scopes import CATALOG_READ, SALES_READ
from shop.funding.models import Campaign, Pledge
from shop.models import LedgerEntry, PayoutAccount, SellerTransfer
from tests.api.conftest import Api, Shop, error_of

pytestmark = pytest.mark.django_db


def test_payouts_give_what_is_owed_the_account_and_the_transfers(api: Api, shop_a: Shop) -> None:
    owed = sum(LedgerEntry.objects.filter(seller=shop_a.seller).values_list("amount", flat=True))
    assert owed > 0
    body = api.get("payouts", shop_a.token(SALES_READ)).json()
    assert (body["owed"], body["currency"]) == (owed, "EUR")
    assert body["account"] == {"connected": False, "details_submitted": False,
                               "payouts_enabled": False}  # fmt: skip
    assert body["items"] == [] and body["next"] is None
    PayoutAccount.objects.create(
        seller=shop_a.seller, stripe_account_id="acct_1", details_submitted=True
    )
    sent = [
        SellerTransfer.objects.create(
            seller=shop_a.seller, amount=100 * n, currency="EUR", stripe_transfer_id=f"tr_{n}"
        )
        for n in range(1, 4)
    ]
    SellerTransfer.objects.create(seller=shop_a.seller, amount=50, currency="EUR")
    first = api.get("payouts", shop_a.token(SALES_READ), limit=2).json()
    assert first["account"]["connected"] and not first["account"]["payouts_enabled"]
    assert [t["amount"] for t in first["items"]] == [50, 300]
    assert [t["confirmed"] for t in first["items"]] == [False, True]
    rest = api.get("payouts", shop_a.token(SALES_READ), limit=2, cursor=first["next"]).json()
    assert [t["id"] for t in rest["items"]] == [sent[1].pk, sent[0].pk]
    assert rest["next"] is None


def test_pledges_list_a_campaigns_backers_newest_first(api: Api, shop_a: Shop) -> None:
    campaign = Campaign.objects.get(seller=shop_a.seller)
    tier = campaign.tiers.get()
    Pledge.objects.create(
        campaign=campaign, tier=tier, email="second@example.com", amount=3000, currency="EUR",
        promised="The album.", status=Pledge.Status.ACTIVE, provider="test", number=2,
        wall_name="Sam",
    )  # fmt: skip
    rows = api.get(f"campaigns/{campaign.pk}/pledges", shop_a.token(SALES_READ)).json()["items"]
    assert [(r["email"], r["amount"], r["wall_name"]) for r in rows] == [
        ("second@example.com", 3000, "Sam"),
        ("backer@example.com", 2000, ""),
    ]
    assert {r["tier"] for r in rows} == {"The album"} and rows[0]["number"] == 2


def test_payouts_and_pledges_need_the_sales_scope(api: Api, shop_a: Shop) -> None:
    campaign = Campaign.objects.get(seller=shop_a.seller)
    for path in ("payouts", f"campaigns/{campaign.pk}/pledges"):
        response = api.get(path, shop_a.token(CATALOG_READ))
        assert response.status_code == 403, path
        assert error_of(response)["code"] == "insufficient_scope", error_of(response)


def test_an_unknown_campaign_or_a_bad_cursor_is_a_clear_error(api: Api, shop_a: Shop) -> None:
    missing = api.get("campaigns/999999/pledges", shop_a.token(SALES_READ))
    assert missing.status_code == 404 and error_of(missing)["code"] == "not_found"
    bad = api.get("payouts", shop_a.token(SALES_READ), cursor="nonsense")
    assert bad.status_code == 400, bad.content
