"""The cross-seller matrix: seller A's token never reaches anything of seller B.

One row per operation of the API; an operation without a row fails
``test_every_operation_is_in_the_matrix``, so a new endpoint comes with its row.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest

from catalog.models import ImportJob, Product, UploadSession
from catalog.uploads.services import upload_create, upload_receive
from delivery.licenses.models import LicenseKey
from delivery.licenses.services import license_issue
from delivery.services import entitlement_grant
from shop.funding.models import Campaign
from shop.ledger import seller_balance
from shop.models import SellerTransfer
from tests.api.conftest import Api, Shop, error_of
from tests.api.operations import OPERATIONS
from tests.factories import pdf_bytes

pytestmark = pytest.mark.django_db

Check = Callable[[Api, Shop, Shop], None]


def _not_found(response: Any) -> None:
    assert response.status_code == 404, response.content
    assert error_of(response)["code"] == "not_found"


def product_list(api: Api, a: Shop, b: Shop) -> None:
    response = api.get("products", a.token())
    ids = {row["id"] for row in response.json()["items"]}
    assert ids == set(Product.objects.filter(seller=a.seller).values_list("pk", flat=True))
    assert b.product.pk not in ids


def product_detail(api: Api, a: Shop, b: Shop) -> None:
    _not_found(api.get(f"products/{b.product.pk}", a.token()))
    assert api.get(f"products/{a.product.pk}", a.token()).status_code == 200


def product_create(api: Api, a: Shop, b: Shop) -> None:
    # The slug of one of B's products is free for A: the new one is A's, B's is untouched.
    response = api.call(
        "POST",
        "products",
        token=a.token(),
        body={"title": "Mine", "slug": b.product.slug, "price": 500},
    )
    assert response.status_code == 201, response.content
    created = Product.objects.get(pk=response.json()["id"])
    assert created.seller == a.seller
    assert Product.objects.filter(seller=b.seller, title="Mine").count() == 0


def product_update(api: Api, a: Shop, b: Shop) -> None:
    response = api.call(
        "PATCH", f"products/{b.product.pk}", token=a.token(), body={"title": "Taken"}
    )
    _not_found(response)
    b.product.refresh_from_db()
    assert b.product.title == "Bruno's book"


def product_files(api: Api, a: Shop, b: Shop) -> None:
    _not_found(api.get(f"products/{b.product.pk}/files", a.token()))
    own = api.get(f"products/{a.product.pk}/files", a.token()).json()
    assert [f["id"] for f in own] == [a.asset.pk]


def sale_list(api: Api, a: Shop, b: Shop) -> None:
    ids = [row["id"] for row in api.get("sales", a.token()).json()["items"]]
    assert ids == [a.item.pk]
    _not_found(api.get("sales", a.token(), product=b.product.pk))


def refund_list(api: Api, a: Shop, b: Shop) -> None:
    ids = [row["id"] for row in api.get("refunds", a.token()).json()["items"]]
    assert ids == [a.refund.pk]
    _not_found(api.get("refunds", a.token(), product=b.product.pk))


def stats(api: Api, a: Shop, b: Shop) -> None:
    figures = api.get("stats", a.token()).json()["figures"]
    assert figures["gross"] == a.item.unit_price  # A's sale only, not the shop's two
    _not_found(api.get("stats", a.token(), product=b.product.pk))


def campaign_list(api: Api, a: Shop, b: Shop) -> None:
    titles = [row["title"] for row in api.get("campaigns", a.token()).json()]
    assert titles == [a.campaign_title]


def pledge_list(api: Api, a: Shop, b: Shop) -> None:
    theirs = Campaign.objects.get(seller=b.seller)
    _not_found(api.get(f"campaigns/{theirs.pk}/pledges", a.token()))
    mine = Campaign.objects.get(seller=a.seller)
    rows = api.get(f"campaigns/{mine.pk}/pledges", a.token()).json()["items"]
    assert [r["id"] for r in rows] == list(mine.pledges.values_list("pk", flat=True))


def payout_list(api: Api, a: Shop, b: Shop) -> None:
    SellerTransfer.objects.create(seller=b.seller, amount=700, currency="EUR")
    mine = SellerTransfer.objects.create(seller=a.seller, amount=300, currency="EUR")
    body = api.get("payouts", a.token()).json()
    assert [t["id"] for t in body["items"]] == [mine.pk]
    assert body["owed"] == seller_balance(seller=a.seller)


def follower_list(api: Api, a: Shop, b: Shop) -> None:
    body = api.get("followers", a.token()).json()
    assert body["count"] == 1
    assert [row["email"] for row in body["items"]] == [a.follow.email]


def _keyed(shop: Shop) -> LicenseKey:
    Product.objects.filter(pk=shop.product.pk).update(license_keys=True)
    shop.product.refresh_from_db()
    license = license_issue(
        entitlement=entitlement_grant(email="k@example.com", product=shop.product)
    )
    assert license is not None
    return license


def license_verify(api: Api, a: Shop, b: Shop) -> None:
    theirs = _keyed(b)
    body = {"product": b.product.pk, "key": theirs.key, "activate": True}
    answer = api.call("POST", "licenses/verify", token=a.token(), body=body).json()
    assert answer["valid"] is False and answer["reason"] == "unknown"
    theirs.refresh_from_db()
    assert theirs.uses == 0
    mine = _keyed(a)
    body = {"product": a.product.pk, "key": mine.key}
    assert api.call("POST", "licenses/verify", token=a.token(), body=body).json()["valid"]


def license_list(api: Api, a: Shop, b: Shop) -> None:
    theirs, mine = _keyed(b), _keyed(a)
    rows = api.get("licenses", a.token()).json()["items"]
    assert [row["id"] for row in rows] == [mine.pk]
    assert theirs.key not in str(rows)
    _not_found(api.get("licenses", a.token(), product=b.product.pk))


def _license_change(action: str) -> Check:
    def check(api: Api, a: Shop, b: Shop) -> None:
        theirs = _keyed(b)
        _not_found(api.call("POST", f"licenses/{theirs.pk}/{action}", token=a.token()))
        after = LicenseKey.objects.get(pk=theirs.pk)
        assert (after.key, after.revoked_at, after.uses) == (theirs.key, None, 0)
        mine = _keyed(a)
        assert api.call("POST", f"licenses/{mine.pk}/{action}", token=a.token()).status_code == 200

    return check


def _their_upload(b: Shop) -> UploadSession:
    content = pdf_bytes(b"theirs")
    upload = upload_create(
        seller=b.seller, product=b.product, role="deliverable", filename="b.pdf", size=len(content)
    )
    upload_receive(upload=upload, offset=0, stream=io.BytesIO(content), length=len(content))
    return upload


def upload_start(api: Api, a: Shop, b: Shop) -> None:
    body = {"filename": "x.pdf", "size": 10}
    _not_found(api.call("POST", f"products/{b.product.pk}/uploads", token=a.token(), body=body))
    assert not UploadSession.objects.filter(product=b.product).exists()
    mine = api.call("POST", f"products/{a.product.pk}/uploads", token=a.token(), body=body)
    assert mine.status_code == 201


def _upload_call(method: str, suffix: str = "", **kwargs: Any) -> Check:
    def check(api: Api, a: Shop, b: Shop) -> None:
        theirs = _their_upload(b)
        # Through B's product, and through A's product: neither reaches B's upload.
        for product in (b.product, a.product):
            path = f"products/{product.pk}/uploads/{theirs.pk}{suffix}"
            _not_found(api.call(method, path, token=a.token(), **kwargs))
        after = UploadSession.objects.get(pk=theirs.pk)
        assert (after.status, after.asset_id) == (UploadSession.Status.RECEIVING, None)

    return check


def _their_job(b: Shop) -> ImportJob:
    return ImportJob.objects.create(
        seller=b.seller,
        source="imports/b.zip",
        source_name="b.zip",
        status=ImportJob.Status.PLANNED,
        dry_run=True,
    )


def import_create(api: Api, a: Shop, b: Shop) -> None:
    # A ZIP is always the token's own seller's: nothing of B's is named or changed.
    response = api.call(
        "POST", "imports", token=a.token(), raw=b"x", content_type="application/zip"
    )
    assert response.status_code == 400
    assert not ImportJob.objects.filter(seller=b.seller).exists()


def import_status(api: Api, a: Shop, b: Shop) -> None:
    _not_found(api.get(f"imports/{_their_job(b).pk}", a.token()))


def import_start(api: Api, a: Shop, b: Shop) -> None:
    theirs = _their_job(b)
    _not_found(api.call("POST", f"imports/{theirs.pk}/start", token=a.token()))
    theirs.refresh_from_db()
    assert (theirs.status, theirs.dry_run) == (ImportJob.Status.PLANNED, True)


MATRIX: dict[tuple[str, str], Check] = {
    ("GET", "/products"): product_list,
    ("POST", "/products"): product_create,
    ("GET", "/products/{product_id}"): product_detail,
    ("PATCH", "/products/{product_id}"): product_update,
    ("GET", "/products/{product_id}/files"): product_files,
    ("GET", "/sales"): sale_list,
    ("GET", "/refunds"): refund_list,
    ("GET", "/stats"): stats,
    ("GET", "/campaigns"): campaign_list,
    ("GET", "/campaigns/{campaign_id}/pledges"): pledge_list,
    ("GET", "/payouts"): payout_list,
    ("GET", "/followers"): follower_list,
    ("POST", "/products/{product_id}/uploads"): upload_start,
    ("GET", "/products/{product_id}/uploads/{upload_id}"): _upload_call("GET"),
    ("PATCH", "/products/{product_id}/uploads/{upload_id}"): _upload_call(
        "PATCH",
        raw=b"x",
        content_type="application/offset+octet-stream",
        headers={"Upload-Offset": "0"},
    ),
    ("DELETE", "/products/{product_id}/uploads/{upload_id}"): _upload_call("DELETE"),
    ("POST", "/products/{product_id}/uploads/{upload_id}/parts"): _upload_call(
        "POST", "/parts", body={"numbers": [1]}
    ),
    ("POST", "/products/{product_id}/uploads/{upload_id}/complete"): _upload_call(
        "POST", "/complete", body={}
    ),
    ("POST", "/imports"): import_create,
    ("GET", "/imports/{job_id}"): import_status,
    ("POST", "/imports/{job_id}/start"): import_start,
    ("POST", "/licenses/verify"): license_verify,
    ("GET", "/licenses"): license_list,
    ("POST", "/licenses/{license_id}/reset"): _license_change("reset"),
    ("POST", "/licenses/{license_id}/revoke"): _license_change("revoke"),
    ("POST", "/licenses/{license_id}/regenerate"): _license_change("regenerate"),
}


def test_every_operation_is_in_the_matrix() -> None:
    assert {(op.method, op.path) for op in OPERATIONS} == set(MATRIX)


@pytest.mark.parametrize("key", sorted(MATRIX), ids=lambda key: f"{key[0]} {key[1]}")
def test_a_sellers_token_never_reaches_another_sellers_things(
    api: Api, shop_a: Shop, shop_b: Shop, key: tuple[str, str]
) -> None:
    MATRIX[key](api, shop_a, shop_b)
