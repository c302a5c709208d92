"""Who is asking: the header, the token's state, its scopes, and where it must never be."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.utils import timezone

from catalog.models import ImportJob, Product, UploadSession
from catalog.uploads.services import upload_create, upload_receive
from delivery.licenses.models import LicenseKey
from delivery.licenses.services import license_issue
from delivery.services import entitlement_grant, hash_token
from shop.api.models import ApiToken
from shop.api.scopes import SCOPES
from shop.api.services import api_token_create, api_token_revoke
from shop.funding.models import Campaign
from tests.api.conftest import ALL_SCOPES, Api, Shop, error_of
from tests.api.operations import OPERATIONS
from tests.factories import pdf_bytes

pytestmark = pytest.mark.django_db


def _license(shop: Shop) -> LicenseKey:
    found = LicenseKey.objects.filter(product=shop.product).first()
    if found is None:
        Product.objects.filter(pk=shop.product.pk).update(license_keys=True)
        shop.product.refresh_from_db()
        found = license_issue(
            entitlement=entitlement_grant(email="k@example.com", product=shop.product)
        )
    assert found is not None
    return found


SCOPED_PDF = pdf_bytes(b"scoped", title="Scoped")


def _upload(shop: Shop) -> UploadSession:
    """An upload of the shop's product with every byte arrived (complete can finish it)."""
    found = UploadSession.objects.filter(product=shop.product, filename="scoped.pdf").first()
    if found is None:
        found = upload_create(
            seller=shop.seller,
            product=shop.product,
            role="deliverable",
            filename="scoped.pdf",
            size=len(SCOPED_PDF),
        )
        upload_receive(
            upload=found, offset=0, stream=io.BytesIO(SCOPED_PDF), length=len(SCOPED_PDF)
        )
    return found


def _job(shop: Shop) -> ImportJob:
    found = ImportJob.objects.filter(seller=shop.seller).first()
    return found or ImportJob.objects.create(
        seller=shop.seller,
        source="imports/x.zip",
        source_name="x.zip",
        status=ImportJob.Status.PLANNED,
        dry_run=True,
    )


def _path(op_path: str, shop: Shop) -> str:
    path = op_path.replace("{product_id}", str(shop.product.pk))
    if "{job_id}" in path:
        path = path.replace("{job_id}", str(_job(shop).pk))
    if "{upload_id}" in path:
        path = path.replace("{upload_id}", str(_upload(shop).pk))
    if "{license_id}" in path:
        path = path.replace("{license_id}", str(_license(shop).pk))
    if "{campaign_id}" in path:
        path = path.replace("{campaign_id}", str(Campaign.objects.get(seller=shop.seller).pk))
    return "/api/v1" + path


def _body(op, shop: Shop) -> dict | None:  # type: ignore[no-untyped-def]
    if op.path == "/licenses/verify":
        return {"product": shop.product.pk, "key": _license(shop).key}
    if op.path == "/products/{product_id}/uploads":
        return {"filename": "more.pdf", "size": 100}
    if op.path.endswith("/parts"):
        return {"numbers": [1]}
    if op.path.endswith("/complete"):
        return {}
    if op.method == "PATCH" or op.path == "/products":
        return {"title": "Scoped", "price": 500}
    return None


def _request(api: Api, op, shop: Shop, token: str | None, **extra):  # type: ignore[no-untyped-def]
    if op.name == "import_create":
        # Not a ZIP: refused by the import's check (400), after the token was let in.
        return api.call(
            op.method,
            _path(op.path, shop),
            token=token,
            raw=b"not a zip",
            content_type="application/zip",
            **extra,
        )
    if op.name == "upload_chunk":
        # A chunk past the end: refused by the protocol (413), after the token was let in.
        return api.call(
            op.method,
            _path(op.path, shop),
            token=token,
            raw=b"x",
            content_type="application/offset+octet-stream",
            headers={"Upload-Offset": str(len(SCOPED_PDF))},
            **extra,
        )
    body = _body(op, shop)
    return api.call(op.method, _path(op.path, shop), token=token, body=body, **extra)


# What an operation answers once the token is let in, when that is not a success:
# the shop's storage is local, so presigned parts do not apply; the scoped upload is whole.
LET_IN = {"upload_parts": 409, "upload_chunk": 413, "import_create": 400}


def test_a_token_is_shown_once_with_a_prefix_and_only_its_hash_is_kept(shop_a: Shop) -> None:
    token, secret = api_token_create(seller=shop_a.seller, name="books", scopes=ALL_SCOPES)
    assert secret.startswith("ech_") and len(secret) > 40
    stored = ApiToken.objects.get(pk=token.pk)
    assert stored.token_hash == hash_token(secret)
    assert secret not in {stored.token_hash, stored.prefix, stored.name}
    assert secret.startswith(stored.prefix) and len(stored.prefix) < len(secret) // 3


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: f"{op.method} {op.path}")
def test_every_operation_needs_a_token(api: Api, shop_a: Shop, op) -> None:  # type: ignore[no-untyped-def]
    response = _request(api, op, shop_a, None)
    assert response.status_code == 401
    assert error_of(response)["code"] == "missing_token"
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: f"{op.method} {op.path}")
def test_every_operation_needs_its_scope_and_that_one_is_enough(api: Api, shop_a: Shop, op) -> None:  # type: ignore[no-untyped-def]
    others = [scope for scope in SCOPES if scope != op.scope]
    refused = _request(api, op, shop_a, shop_a.token(*others))
    assert refused.status_code == 403
    error = error_of(refused)
    assert error["code"] == "insufficient_scope" and op.scope in error["message"]
    allowed = _request(api, op, shop_a, shop_a.token(op.scope))
    expected = (LET_IN[op.name],) if op.name in LET_IN else (200, 201, 204)
    assert allowed.status_code in expected, allowed.content


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: f"{op.method} {op.path}")
def test_a_token_in_the_query_string_is_refused_with_a_pointer_to_the_header(
    api: Api, shop_a: Shop, op
) -> None:  # type: ignore[no-untyped-def]
    url = _path(op.path, shop_a) + "?access_token=" + shop_a.token()
    response = api.call(op.method, url, token=shop_a.token())
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "token_in_query" and "Authorization" in error["message"]


def test_a_token_value_under_any_parameter_name_is_refused(api: Api, shop_a: Shop) -> None:
    response = api.get("products", shop_a.token(), q=shop_a.token())
    assert response.status_code == 400
    assert error_of(response)["code"] == "token_in_query"


def test_a_revoked_token_is_refused(api: Api, shop_a: Shop) -> None:
    token, secret = api_token_create(seller=shop_a.seller, name="old", scopes=ALL_SCOPES)
    assert api.get("products", secret).status_code == 200
    api_token_revoke(token=token)
    response = api.get("products", secret)
    assert response.status_code == 401
    assert error_of(response)["code"] == "revoked_token"


def test_an_expired_token_is_refused(api: Api, shop_a: Shop) -> None:
    soon = timezone.now() + timedelta(minutes=5)
    token, secret = api_token_create(
        seller=shop_a.seller, name="brief", scopes=ALL_SCOPES, expires_at=soon
    )
    assert api.get("products", secret).status_code == 200
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = api.get("products", secret)
    assert response.status_code == 401
    assert error_of(response)["code"] == "expired_token"


@pytest.mark.parametrize(
    ("header", "code"),
    [
        ("Bearer ech_not-a-real-token", "invalid_token"),
        ("Bearer " + "x" * 5000, "invalid_token"),
        ("Basic dXNlcjpwYXNz", "bad_authorization"),
        ("Bearer ", "bad_authorization"),
        ("ech_only-the-token", "bad_authorization"),
    ],
)
def test_a_wrong_authorization_header_is_a_401_that_says_why(
    api: Api, shop_a: Shop, header: str, code: str
) -> None:
    response = api.get("products", headers={"Authorization": header})
    assert response.status_code == 401
    assert error_of(response)["code"] == code


def test_a_token_of_a_deactivated_account_is_refused(api: Api, shop_a: Shop) -> None:
    secret = shop_a.token()
    shop_a.seller.user.is_active = False
    shop_a.seller.user.save()
    response = api.get("products", secret)
    assert response.status_code == 401
    assert error_of(response)["code"] == "invalid_token"


def test_last_use_is_recorded_at_most_once_a_minute(api: Api, shop_a: Shop) -> None:
    token, secret = api_token_create(seller=shop_a.seller, name="used", scopes=ALL_SCOPES)
    assert token.last_used_at is None
    api.get("products", secret)
    first = ApiToken.objects.get(pk=token.pk).last_used_at
    assert first is not None
    api.get("products", secret)
    assert ApiToken.objects.get(pk=token.pk).last_used_at == first
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=first - timedelta(minutes=2))
    api.get("products", secret)
    assert ApiToken.objects.get(pk=token.pk).last_used_at > first - timedelta(seconds=1)
