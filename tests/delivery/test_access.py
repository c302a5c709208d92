"""The download gate, as a matrix: each way a link can be good or bad."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import signing
from django.test import override_settings
from django.utils import timezone

from catalog.models import Asset, Product
from delivery import access
from delivery.models import Download
from delivery.services import download_record, entitlement_grant, entitlement_revoke
from tests.factories import ProductFactory, add_file

pytestmark = pytest.mark.django_db


@pytest.fixture
def owned(product, pdf_asset):
    return entitlement_grant(email="fan@example.com", product=product), pdf_asset


def _record(entitlement, asset, at=None):
    row = download_record(
        entitlement=entitlement, asset=asset, ip="127.0.0.1", user_agent="t", range_header=""
    )
    if at is not None and row.pk is not None:
        Download.objects.filter(pk=row.pk).update(at=at)
    return row


def test_a_valid_link_grants_its_entitlement_and_asset(owned):
    entitlement, asset = owned
    granted = access.access_file_link(access.file_link_mint(entitlement=entitlement, asset=asset))
    assert granted.entitlement == entitlement and granted.asset == asset


def test_an_expired_link_is_refused(owned, settings):
    entitlement, asset = owned
    token = access.file_link_mint(entitlement=entitlement, asset=asset)
    settings.FILE_LINK_MAX_AGE = -1
    with pytest.raises(access.LinkExpired):
        access.access_file_link(token)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),
        lambda t: t.replace(":", ";", 1),
        lambda t: "",
        lambda t: "garbage",
        lambda t: t + "x",
    ],
    ids=["signature", "structure", "empty", "garbage", "suffix"],
)
def test_a_tampered_link_is_unknown(owned, mangle):
    entitlement, asset = owned
    with pytest.raises(access.LinkInvalid):
        access.access_file_link(mangle(access.file_link_mint(entitlement=entitlement, asset=asset)))


def test_a_link_signed_with_another_salt_is_unknown(owned):
    entitlement, asset = owned
    forged = signing.TimestampSigner(salt="delivery.other").sign_object(
        {"e": entitlement.pk, "a": asset.pk}
    )
    with pytest.raises(access.LinkInvalid):
        access.access_file_link(forged)


def test_a_payload_pointing_at_another_asset_needs_a_new_signature(owned):
    entitlement, asset = owned
    token = access.file_link_mint(entitlement=entitlement, asset=asset)
    payload, rest = token.split(":", 1)
    other = signing.b64_encode(f'{{"e":{entitlement.pk},"a":{asset.pk + 1}}}'.encode()).decode()
    with pytest.raises(access.LinkInvalid):
        access.access_file_link(f"{other}:{rest}")
    assert payload != other


def test_a_revoked_entitlement_is_refused_with_its_reason(owned):
    entitlement, asset = owned
    token = access.file_link_mint(entitlement=entitlement, asset=asset)
    entitlement_revoke(entitlement=entitlement, reason="Refunded on 3 May.")
    with pytest.raises(access.EntitlementRevoked) as refused:
        access.access_file_link(token)
    assert refused.value.reason == "Refunded on 3 May."


def test_another_buyers_asset_is_unknown(owned):
    entitlement, _ = owned
    other_product = ProductFactory()
    foreign = add_file(other_product, name="other.pdf")
    token = access.file_link_mint(entitlement=entitlement, asset=foreign)
    with pytest.raises(access.LinkInvalid):
        access.access_file_link(token)
    with pytest.raises(access.LinkInvalid):
        access.access_entitlement_asset(entitlement=entitlement, asset_id=foreign.pk)


@pytest.mark.parametrize("status", [Product.Status.ARCHIVED, Product.Status.DRAFT])
def test_archiving_or_unpublishing_keeps_what_buyers_bought(owned, status):
    entitlement, asset = owned
    Product.objects.filter(pk=asset.product_id).update(status=status)
    granted = access.access_file_link(access.file_link_mint(entitlement=entitlement, asset=asset))
    assert granted.asset == asset


def test_the_limit_counts_once_per_window_and_then_refuses(owned):
    entitlement, asset = owned
    entitlement.download_limit = 2
    entitlement.save()
    token = access.file_link_mint(entitlement=entitlement, asset=asset)
    long_ago = timezone.now() - timedelta(hours=2)
    _record(entitlement, asset, at=long_ago)
    _record(entitlement, asset)  # counted: the earlier one is outside the window
    _record(entitlement, asset)  # a resume inside the window: not counted
    assert Download.objects.filter(counted=True).count() == 2
    # Limit reached, but a resume of the download in progress still passes.
    assert access.access_file_link(token).asset == asset
    Download.objects.update(at=long_ago)
    with pytest.raises(access.LimitReached):
        access.access_file_link(token)


def test_an_entitlement_that_no_longer_exists_is_unknown(owned):
    entitlement, asset = owned
    token = access.file_link_mint(entitlement=entitlement, asset=asset)
    forged_id = entitlement.pk + 1000
    rest = signing.TimestampSigner(salt=access.FILE_LINK_SALT).sign_object(
        {"e": forged_id, "a": asset.pk}
    )
    with pytest.raises(access.LinkInvalid):
        access.access_file_link(rest)
    assert access.access_file_link(token).entitlement == entitlement


def test_links_signed_with_the_old_key_work_while_it_is_a_fallback(owned):
    entitlement, asset = owned
    with override_settings(SECRET_KEY="old-key-" + "x" * 50):
        token = access.file_link_mint(entitlement=entitlement, asset=asset)
    with override_settings(
        SECRET_KEY="new-key-" + "y" * 50, SECRET_KEY_FALLBACKS=["old-key-" + "x" * 50]
    ):
        assert access.access_file_link(token).asset == asset
    with (
        override_settings(SECRET_KEY="new-key-" + "y" * 50, SECRET_KEY_FALLBACKS=[]),
        pytest.raises(access.LinkInvalid),
    ):
        access.access_file_link(token)


def test_a_preview_is_not_a_paid_file_and_gets_no_file_link(owned):
    entitlement, asset = owned
    preview = add_file(asset.product, name="sample.pdf", role=Asset.Role.PREVIEW, position=9)
    with pytest.raises(access.LinkInvalid):
        access.access_entitlement_asset(entitlement=entitlement, asset_id=preview.pk)
    with pytest.raises(access.LinkInvalid):
        access.access_file_link(access.file_link_mint(entitlement=entitlement, asset=preview))
