"""The uploader with S3 storage, in Chromium: the browser PUTs the parts straight to the
bucket (SeaweedFS on loopback) through presigned URLs, and the app never sees the bytes."""

from __future__ import annotations

import hashlib
import re

import pytest

from catalog.models import Asset, Product
from catalog.uploads import s3
from catalog.uploads.base import MiB
from tests.factories import ProductFactory, SellerFactory, wav_bytes

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PART = 5 * MiB
CONTENT = wav_bytes(2 * PART + 300_000, seed=21)  # three parts


def test_the_browser_uploads_parts_to_the_bucket_and_survives_a_failed_part(
    page, live_server, shot, s3_server, settings, monkeypatch
):
    settings.STORAGES = s3_server.storages()
    monkeypatch.setattr(s3, "MIN_PART_BYTES", PART)
    seller = SellerFactory()
    product = ProductFactory(seller=seller, title="Harbour at Dusk", status=Product.Status.DRAFT)
    page.goto(live_server.url + "/accounts/login/")
    page.get_by_label("Email or username").fill(seller.user.email)
    page.get_by_label("Password").fill("pass-word-123")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile("/library|/sell|/$"))

    app_bytes: list[int] = []
    bucket_puts: list[str] = []

    def watch_app(route):
        app_bytes.append(len(route.request.post_data_buffer or b""))
        return route.continue_()

    def flaky_bucket(route):
        if route.request.method == "PUT":
            bucket_puts.append(route.request.url)
            if len(bucket_puts) == 2:
                return route.abort("connectionreset")
        return route.continue_()

    page.route(re.compile(r"/sell/uploads/"), watch_app)
    page.route(re.compile(re.escape(s3_server.endpoint_url) + "/"), flaky_bucket)
    page.goto(live_server.url + f"/sell/products/{product.pk}/files/")
    page.get_by_label("Choose files").set_input_files(
        [{"name": "harbour.wav", "mimeType": "audio/wav", "buffer": CONTENT}]
    )
    page.get_by_role("button", name="Upload").click()
    page.locator(".upload-row", has_text="harbour.wav").get_by_text(re.compile("Added")).wait_for(
        timeout=60_000
    )
    shot("seller-files-s3")

    asset = Asset.objects.get(product=product)
    assert asset.sha256 == hashlib.sha256(CONTENT).hexdigest()
    stored = s3_server.client().get_object(Bucket=s3_server.private_bucket, Key=asset.file.name)
    assert stored["Body"].read() == CONTENT
    assert len(bucket_puts) == 4  # three parts, the second one twice
    # What reached the app: small JSON requests, never the file's bytes.
    assert max(app_bytes) < 10_000, app_bytes
