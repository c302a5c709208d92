"""The ownership gate as a matrix: seller A against everything of seller B's.

Every seller-side address that names an object is tried by the owner (it
works), by another seller (404, exactly as for an id that does not exist) and
by an anonymous visitor (sent to the login page, or 401 for the JSON API).
"""

from __future__ import annotations

import json
import uuid

import pytest
from django.test import Client
from django.urls import reverse

from catalog import access
from catalog.models import Asset, Product, UploadSession
from catalog.uploads.services import upload_create
from tests.factories import ProductFactory, SellerFactory, UserFactory, add_file, wav_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    """Seller B owns a published product with a file and a preview, a draft, and an upload."""
    a, b = SellerFactory(slug="alice"), SellerFactory(slug="bruno")
    published = ProductFactory(seller=b, title="B published")
    draft = ProductFactory(seller=b, title="B draft", status=Product.Status.DRAFT)
    file = add_file(published, wav_bytes(2000), "b-track.wav")
    preview = add_file(published, wav_bytes(2000, seed=1), "b-preview.wav", role=Asset.Role.PREVIEW)
    upload = upload_create(
        seller=b, product=draft, role=Asset.Role.DELIVERABLE, filename="big.wav", size=10
    )
    return {
        "a": a,
        "b": b,
        "published": published,
        "draft": draft,
        "file": file,
        "preview": preview,
        "upload": upload,
    }


def _pages(w) -> list[tuple[str, str, str]]:
    """(name, method, url) of every seller page that names one of B's objects."""
    p, d, f, pv, up = w["published"], w["draft"], w["file"], w["preview"], w["upload"]
    return [
        ("edit published product", "get", reverse("catalog:sell_product", args=[p.pk])),
        ("edit draft", "get", reverse("catalog:sell_product", args=[d.pk])),
        ("save draft", "post", reverse("catalog:sell_product", args=[d.pk])),
        ("files of product", "get", reverse("catalog:sell_files", args=[p.pk])),
        ("upload to draft (form)", "post", reverse("catalog:sell_files", args=[d.pk])),
        ("delete page", "get", reverse("catalog:sell_product_delete", args=[p.pk])),
        ("delete draft", "post", reverse("catalog:sell_product_delete", args=[d.pk])),
        ("move file", "post", reverse("catalog:sell_asset_move", args=[f.pk])),
        ("delete file", "post", reverse("catalog:sell_asset_delete", args=[f.pk])),
        ("move preview", "post", reverse("catalog:sell_asset_move", args=[pv.pk])),
        ("delete preview", "post", reverse("catalog:sell_asset_delete", args=[pv.pk])),
        ("upload status", "get", reverse("catalog:sell_upload", args=[up.pk])),
        ("upload chunk", "patch", reverse("catalog:sell_upload", args=[up.pk])),
        ("upload abort", "delete", reverse("catalog:sell_upload", args=[up.pk])),
        ("upload parts", "post", reverse("catalog:sell_upload_parts", args=[up.pk])),
        ("upload finish", "post", reverse("catalog:sell_upload_finish", args=[up.pk])),
    ]


def _call(client: Client, method: str, url: str):
    if method == "patch":
        return client.generic(
            "PATCH",
            url,
            b"0123456789",
            content_type="application/offset+octet-stream",
            HTTP_UPLOAD_OFFSET="0",
        )
    if method == "delete":
        return client.delete(url)
    return getattr(client, method)(url)


def test_every_cross_seller_access_is_a_404_and_changes_nothing(world):
    client = Client()
    client.force_login(world["a"].user)
    for name, method, url in _pages(world):
        response = _call(client, method, url)
        assert response.status_code == 404, f"{name}: {response.status_code}"
    assert Product.objects.filter(pk=world["draft"].pk).exists()
    assert Asset.objects.filter(pk__in=[world["file"].pk, world["preview"].pk]).count() == 2
    upload = UploadSession.objects.get(pk=world["upload"].pk)
    assert upload.received_bytes == 0 and upload.status == UploadSession.Status.RECEIVING


def test_the_owner_reaches_every_one_of_those_pages(world):
    client = Client()
    client.force_login(world["b"].user)
    for name, method, url in _pages(world):
        if method != "get":
            continue
        assert _call(client, method, url).status_code == 200, name


def test_anonymous_visitors_are_sent_to_log_in_and_the_api_answers_401(world):
    client = Client()
    for name, method, url in _pages(world):
        response = _call(client, method, url)
        if "/uploads/" in url:
            assert response.status_code == 401, name
        else:
            assert response.status_code == 302, name
            assert response["Location"].startswith(reverse("login")), name


def test_a_seller_cannot_open_an_upload_for_someone_elses_product(world):
    client = Client()
    client.force_login(world["a"].user)
    response = client.post(
        reverse("catalog:sell_upload_create"),
        json.dumps({"product": world["draft"].pk, "size": 10, "filename": "x.wav"}),
        content_type="application/json",
    )
    assert response.status_code == 404
    assert not UploadSession.objects.filter(seller=world["a"]).exists()


def test_a_missing_id_and_someone_elses_id_look_the_same(world):
    user = world["a"].user
    for getter, mine_missing, theirs in [
        (access.access_product_for_seller, 999_999, world["draft"].pk),
        (access.access_asset_for_seller, 999_999, world["preview"].pk),
        (access.access_upload_for_seller, uuid.uuid4(), world["upload"].pk),
    ]:
        with pytest.raises(access.NotOwned) as missing:
            getter(user, mine_missing)
        with pytest.raises(access.NotOwned) as foreign:
            getter(user, theirs)
        assert type(missing.value) is type(foreign.value)


@pytest.mark.parametrize("junk", ["abc", "-1", "0", "9" * 30, None, "../1"])
def test_malformed_ids_are_404s_not_errors(world, junk):
    with pytest.raises(access.NotOwned):
        access.access_product_for_seller(world["b"].user, junk)
    with pytest.raises(access.NotOwned):
        access.access_upload_for_seller(world["b"].user, junk)


def test_an_account_without_a_shop_is_offered_to_open_one(world):
    client = Client()
    client.force_login(UserFactory())
    response = client.get(reverse("catalog:sell_product", args=[world["draft"].pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("catalog:sell_start")
