"""License keys through the API: verify (and activate, atomically), list, reset, revoke."""

from __future__ import annotations

import threading

import pytest
from django.db import close_old_connections, connection
from django.test import Client

from catalog.models import Product
from delivery.licenses.models import LicenseKey
from delivery.licenses.services import license_issue
from delivery.services import entitlement_grant
from shop.api.scopes import LICENSES_READ, LICENSES_VERIFY, LICENSES_WRITE
from tests.api.conftest import Api, Shop, error_of

pytestmark = pytest.mark.django_db


def keyed(shop: Shop, *, max_uses: int | None = None, email: str = "fan@example.com"):
    Product.objects.filter(pk=shop.product.pk).update(
        license_keys=True, license_max_activations=max_uses
    )
    shop.product.refresh_from_db()
    entitlement = entitlement_grant(email=email, product=shop.product)
    license = license_issue(entitlement=entitlement)
    assert license is not None
    return license


def verify(api: Api, token: str, **body):
    return api.call("POST", "licenses/verify", token=token, body=body)


def test_a_valid_key_verifies_with_its_figures(api: Api, shop_a: Shop) -> None:
    license = keyed(shop_a, max_uses=2)
    token = shop_a.token(LICENSES_VERIFY)
    response = verify(api, token, product=shop_a.product.pk, key=license.key.lower())
    assert response.status_code == 200
    assert response.json() == {
        "valid": True,
        "reason": "",
        "product": shop_a.product.pk,
        "uses": 0,
        "max_uses": 2,
        "refunded": False,
        "revoked": False,
        "activated": False,
    }
    activated = verify(
        api, token, product=shop_a.product.pk, key=license.key, activate=True, instance="mac"
    ).json()
    assert (activated["activated"], activated["uses"]) == (True, 1)


def test_an_unknown_key_and_another_sellers_key_answer_alike(
    api: Api, shop_a: Shop, shop_b: Shop
) -> None:
    theirs = keyed(shop_b)
    token = shop_a.token(LICENSES_VERIFY)
    wrong = verify(api, token, product=shop_a.product.pk, key="NOPE-NOPE-NOPE-NOPE").json()
    foreign = verify(api, token, product=shop_b.product.pk, key=theirs.key).json()
    assert wrong == {**foreign, "product": shop_a.product.pk}
    assert foreign["valid"] is False and foreign["reason"] == "unknown"
    assert foreign["uses"] == 0 and foreign["max_uses"] is None
    verify(api, token, product=shop_b.product.pk, key=theirs.key, activate=True)
    theirs.refresh_from_db()
    assert theirs.uses == 0 and theirs.last_checked_at is None


def test_verifying_needs_the_scope_and_a_well_formed_body(api: Api, shop_a: Shop) -> None:
    license = keyed(shop_a)
    refused = verify(api, shop_a.token(LICENSES_READ), product=shop_a.product.pk, key=license.key)
    assert refused.status_code == 403 and error_of(refused)["code"] == "insufficient_scope"
    bad = verify(api, shop_a.token(LICENSES_VERIFY), product=shop_a.product.pk, key="", extra=1)
    assert bad.status_code == 422
    assert set(error_of(bad)["fields"]) == {"key", "extra"}


def test_the_list_shows_own_keys_and_actions_change_them(
    api: Api, shop_a: Shop, shop_b: Shop
) -> None:
    mine = keyed(shop_a, max_uses=1)
    keyed(shop_b)
    verify(
        api, shop_a.token(LICENSES_VERIFY), product=shop_a.product.pk, key=mine.key, activate=True
    )
    listed = api.get("licenses", shop_a.token(LICENSES_READ)).json()
    assert [(row["id"], row["key"], row["uses"]) for row in listed["items"]] == [
        (mine.pk, mine.key, 1)
    ]
    write = shop_a.token(LICENSES_WRITE)
    reset = api.call("POST", f"licenses/{mine.pk}/reset", token=write)
    assert reset.status_code == 200 and reset.json()["uses"] == 0
    revoked = api.call("POST", f"licenses/{mine.pk}/revoke", token=write).json()
    assert revoked["revoked"] is True
    answer = verify(api, shop_a.token(LICENSES_VERIFY), product=shop_a.product.pk, key=mine.key)
    assert answer.json()["reason"] == "revoked" and answer.json()["revoked"] is True
    new = api.call("POST", f"licenses/{mine.pk}/regenerate", token=write).json()
    assert new["key"] != mine.key and LicenseKey.objects.get(pk=mine.pk).key == new["key"]


@pytest.mark.django_db(transaction=True)
def test_parallel_activations_never_pass_the_limit(shop_a: Shop) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("concurrent transactions need PostgreSQL (SQLite serialises writers)")
    license = keyed(shop_a, max_uses=3)
    token = shop_a.token(LICENSES_VERIFY)
    count = 10
    barrier = threading.Barrier(count)
    answers: list[dict] = []
    errors: list[BaseException] = []

    def activate(n: int) -> None:
        try:
            api = Api(Client())
            barrier.wait()
            response = verify(
                api,
                token,
                product=shop_a.product.pk,
                key=license.key,
                activate=True,
                instance=f"machine-{n}",
            )
            answers.append(response.json())
        except BaseException as exc:
            errors.append(exc)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=activate, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert sum(1 for a in answers if a["activated"]) == 3
    assert sorted(a["reason"] for a in answers) == [""] * 3 + ["limit_reached"] * 7
    license.refresh_from_db()
    assert license.uses == 3 and license.activations.count() == 3
