"""Per-seller storage quotas: stored bytes, bytes announced by open uploads, open uploads."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import close_old_connections, connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from catalog.models import Asset, UploadSession
from catalog.quotas import human_size, storage_usage
from tests.catalog.test_request_size import MiB, StreamedBody, wsgi_post
from tests.factories import ProductFactory, SellerFactory, UserFactory, add_file, pdf_bytes

pytestmark = pytest.mark.django_db

GiB = 1024**3


@pytest.fixture
def temp_dir(tmp_path, settings):
    folder = tmp_path / "uploads-tmp"
    folder.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(folder)
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 0
    return folder


def open_session(client: Client, product, size: int, name: str = "film.mp4"):
    return client.post(
        reverse("catalog:sell_upload_create"),
        {"product": product.pk, "role": "deliverable", "filename": name, "size": size},
        content_type="application/json",
    )


def test_five_20_gib_uploads_cannot_be_opened_at_once(seller_client, draft):
    answers = [open_session(seller_client, draft, 20 * GiB) for _ in range(5)]
    assert [a.status_code for a in answers] == [201, 201, 413, 413, 413]
    error = answers[2].json()["error"]
    assert "does not fit in your storage quota: 42.9 GB of 50 GB used" in error
    assert "(42.9 GB of it reserved by unfinished uploads), 7.1 GB left" in error
    assert UploadSession.objects.count() == 2


def test_a_fourth_open_upload_is_refused_however_small(seller_client, draft):
    for _ in range(3):
        assert open_session(seller_client, draft, 1000).status_code == 201
    answer = open_session(seller_client, draft, 1000)
    assert answer.status_code == 413
    assert answer.json()["error"].startswith(
        "You already have 3 unfinished uploads open; your shop may have 3 at a time."
    )


def test_an_unconfirmed_seller_gets_a_small_quota_and_one_upload(draft):
    seller = draft.seller
    seller.email_verified_at = None
    seller.save()
    client = Client()
    client.force_login(seller.user)
    big = open_session(client, draft, 20 * GiB)
    assert big.status_code == 413
    error = big.json()["error"]
    assert "0 bytes of 500 MB used" in error
    assert "Confirm your email address to raise it to 50 GB and 3 uploads at a time." in error
    assert open_session(client, draft, 400 * 1000**2).status_code == 201
    second = open_session(client, draft, 1000)
    assert second.status_code == 413
    assert "your shop may have 1 at a time" in second.json()["error"]


def test_stored_files_count_against_the_quota(seller_client, draft, settings):
    add_file(draft, pdf_bytes(b"x" * 6000), "a.pdf")
    stored = draft.assets.get().size_bytes
    settings.SELLER_QUOTA_BYTES = stored + 1000
    assert open_session(seller_client, draft, 1001).status_code == 413
    assert open_session(seller_client, draft, 1000).status_code == 201


def test_files_of_other_sellers_do_not_count(seller_client, draft, settings):
    other = ProductFactory(seller=SellerFactory())
    add_file(other, pdf_bytes(b"x" * 6000), "a.pdf")
    settings.SELLER_QUOTA_BYTES = 5000
    assert open_session(seller_client, draft, 5000).status_code == 201


def test_expired_and_finished_uploads_free_their_reservation(seller_client, draft, settings):
    settings.SELLER_QUOTA_OPEN_UPLOADS = 1
    first = open_session(seller_client, draft, 1000).json()
    UploadSession.objects.filter(pk=first["id"]).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    second = open_session(seller_client, draft, 1000).json()
    UploadSession.objects.filter(pk=second["id"]).update(status=UploadSession.Status.COMPLETE)
    assert open_session(seller_client, draft, 1000).status_code == 201


def test_cancelling_an_upload_frees_its_slot(seller_client, draft, settings):
    settings.SELLER_QUOTA_OPEN_UPLOADS = 1
    session = open_session(seller_client, draft, 1000).json()
    assert open_session(seller_client, draft, 1000).status_code == 413
    assert seller_client.delete(session["urls"]["self"]).status_code == 204
    assert open_session(seller_client, draft, 1000).status_code == 201


def test_the_one_request_form_is_refused_by_the_quota_before_its_body_is_read(
    seller_client, draft, settings, temp_dir
):
    # Through Django's WSGI handler with the CSRF check on, as in production: the
    # check would parse the body (into temporary files) before the view runs.
    settings.SELLER_QUOTA_BYTES = 100 * 1000**2
    add_file(draft, pdf_bytes(b"x" * 6000), "a.pdf")
    body = StreamedBody(300 * MiB)
    answer = wsgi_post(
        reverse("catalog:sell_files", args=[draft.pk]),
        body,
        declared=body.size,
        cookie=f"sessionid={seller_client.cookies['sessionid'].value}",
    )
    assert answer["status"] == 413
    assert (
        "your storage quota: 6" in answer["body"]
        and "of 100 MB used, 100 MB left" in answer["body"]
    )
    assert body.read_bytes == 0 and list(temp_dir.iterdir()) == []
    assert draft.assets.count() == 1


def test_a_signed_in_buyer_gets_the_small_limit_on_a_seller_route(draft, temp_dir):
    client = Client()
    client.force_login(UserFactory())
    body = StreamedBody(300 * MiB)
    answer = wsgi_post(
        reverse("catalog:sell_files", args=[draft.pk]),
        body,
        declared=body.size,
        cookie=f"sessionid={client.cookies['sessionid'].value}",
    )
    assert answer["status"] == 413 and "up to 1 MB." in answer["body"]
    assert body.read_bytes == 0 and list(temp_dir.iterdir()) == []


def test_a_seller_within_the_quota_reaches_the_form(seller_client, draft, settings):
    settings.SELLER_QUOTA_BYTES = 3 * MiB
    response = seller_client.post(
        reverse("catalog:sell_files", args=[draft.pk]),
        {"file": SimpleUploadedFile("big.pdf", pdf_bytes(b"x" * (2 * MiB))), "role": "deliverable"},
    )
    assert response.status_code == 302
    assert draft.assets.count() == 1


def test_the_one_request_form_checks_the_exact_size_too(seller_client, draft, settings):
    settings.SELLER_QUOTA_BYTES = 5000
    response = seller_client.post(
        reverse("catalog:sell_files", args=[draft.pk]),
        {"file": SimpleUploadedFile("b.pdf", pdf_bytes(b"x" * 6000)), "role": "deliverable"},
    )
    assert response.status_code == 400
    assert "does not fit in your storage quota: 0 bytes of 5 KB used" in response.content.decode()
    assert not Asset.objects.exists()


def test_the_files_page_shows_the_usage_with_a_meter(seller_client, draft, settings):
    settings.SELLER_QUOTA_BYTES = 50 * 1000**3
    add_file(draft, pdf_bytes(b"x" * 6000), "a.pdf")
    open_session(seller_client, draft, 3_200_000_000)
    page = seller_client.get(reverse("catalog:sell_files", args=[draft.pk])).content.decode()
    usage = storage_usage(seller=draft.seller)
    assert usage.used == 3_200_000_000 + draft.assets.get().size_bytes
    assert "3.2 GB of 50 GB used (3.2 GB reserved by unfinished uploads)" in page
    assert f'<meter id="storage-meter" min="0" max="50000000000" value="{usage.used}"' in page
    assert "1 of 3 uploads open at a time" in page


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0 bytes"),
        (999, "999 bytes"),
        (1500, "1.5 KB"),
        (50 * 1000**3, "50 GB"),
        (3.2e9, "3.2 GB"),
    ],
)
def test_sizes_are_written_for_people(size, text):
    assert human_size(int(size)) == text


@pytest.mark.django_db(transaction=True)
def test_uploads_opened_at_the_same_moment_cannot_both_take_the_last_slot(settings):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent transactions need PostgreSQL (SQLite serialises writers)")
    settings.SELLER_QUOTA_OPEN_UPLOADS = 1
    product = ProductFactory()
    barrier = threading.Barrier(4)
    answers: list[int] = []

    def open_one() -> None:
        client = Client()
        client.force_login(product.seller.user)
        barrier.wait()
        try:
            answers.append(open_session(client, product, 1000).status_code)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(answers) == [201, 413, 413, 413]
    assert UploadSession.objects.count() == 1
