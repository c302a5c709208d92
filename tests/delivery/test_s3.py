"""The `s3` backend against a real S3-compatible server (SeaweedFS on loopback).

The app answers a download with a 302 to a presigned GET; from then on the
bucket alone decides, so these tests ask the bucket itself: the presigned URL
serves the exact bytes under the original name, resumes with Range, and
nothing else gets in — not an expired URL, not an altered one, not an
anonymous request.
"""

from __future__ import annotations

import datetime as dt
import urllib.error
import urllib.request
from urllib.parse import parse_qs, unquote, urlencode, urlsplit, urlunsplit

import botocore.auth
import pytest
from django.core.files.storage import default_storage
from django.urls import reverse

from catalog.storage import public_storage
from delivery import access
from delivery.models import Download
from delivery.services import entitlement_grant, entitlement_revoke
from tests.factories import ProductFactory, add_file, pdf_bytes

pytestmark = pytest.mark.django_db

CONTENT = pdf_bytes(bytes(range(256)) * 400)  # ~100 KB, a valid PDF
NAME = "Ñotes – été.pdf"


def fetch(url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    """A plain HTTP client: no credentials, no SDK, just the URL."""
    assert url.startswith("http://127.0.0.1:"), url  # the loopback test server only
    request = urllib.request.Request(url, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as refused:
        return refused.code, dict(refused.headers), refused.read()


@pytest.fixture
def bought(on_s3, product):
    asset = add_file(product, CONTENT, NAME)
    entitlement = entitlement_grant(email="fan@example.com", product=product)
    return entitlement, asset


def _download_path(entitlement, asset) -> str:
    signed = access.file_link_mint(entitlement=entitlement, asset=asset)
    return reverse("delivery:download", kwargs={"signed": signed})


def _presigned(client, entitlement, asset) -> str:
    response = client.get(_download_path(entitlement, asset))
    assert response.status_code == 302
    return response["Location"]


def _with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    return urlunsplit(parts._replace(query=urlencode({**query, **changes})))


def _with_key(url: str, key: str) -> str:
    parts = urlsplit(url)
    bucket = parts.path.split("/")[1]
    return urlunsplit(parts._replace(path=f"/{bucket}/{key}"))


def test_the_upload_lands_in_the_private_bucket(bought, on_s3):
    _, asset = bought
    head = on_s3.client().head_object(Bucket=on_s3.private_bucket, Key=asset.file.name)
    assert head["ContentLength"] == len(CONTENT)
    assert asset.size_bytes == len(CONTENT) and asset.mime_type == "application/pdf"


def test_a_download_is_a_short_lived_presigned_redirect(client, bought, on_s3, settings):
    entitlement, asset = bought
    response = client.get(_download_path(entitlement, asset))
    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith(f"{on_s3.endpoint_url}/{on_s3.private_bucket}/{asset.file.name}?")
    query = parse_qs(urlsplit(location).query)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert query["X-Amz-Expires"] == [str(settings.FILE_LINK_REDIRECT_SECONDS)]
    assert response["Cache-Control"] == "private, no-store"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert Download.objects.filter(entitlement=entitlement, asset=asset, counted=True).count() == 1


def test_the_presigned_url_serves_the_exact_bytes_as_an_attachment(client, bought):
    status, headers, body = fetch(_presigned(client, *bought))
    assert status == 200
    assert body == CONTENT
    assert headers["Content-Type"] == "application/pdf"
    disposition = headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert unquote(disposition.split("filename*=utf-8''")[1]) == NAME


def test_a_range_on_the_presigned_url_resumes_with_206(client, bought):
    status, headers, body = fetch(_presigned(client, *bought), Range="bytes=1000-")
    assert status == 206
    assert headers["Content-Range"] == f"bytes 1000-{len(CONTENT) - 1}/{len(CONTENT)}"
    assert body == CONTENT[1000:]


def _signed_at(monkeypatch, moment: dt.datetime) -> None:
    # botocore stamps X-Amz-Date from this clock: moving it back makes a URL
    # that is already old, without sleeping.
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *a, **k: moment)


def test_a_presigned_url_works_until_it_expires(client, bought, monkeypatch, settings):
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    lifetime = settings.FILE_LINK_REDIRECT_SECONDS
    _signed_at(monkeypatch, now - dt.timedelta(seconds=lifetime - 15))
    still_valid = _presigned(client, *bought)
    _signed_at(monkeypatch, now - dt.timedelta(seconds=lifetime + 60))
    expired = _presigned(client, *bought)
    assert fetch(still_valid)[0] == 200
    status, _, body = fetch(expired)
    assert status == 403
    assert CONTENT[:100] not in body


@pytest.mark.parametrize(
    "alter",
    [
        pytest.param(
            lambda url, other: _with_query(url, **{"X-Amz-Signature": "0" * 64}), id="signature"
        ),
        pytest.param(lambda url, other: _with_key(url, other), id="key"),
        pytest.param(
            lambda url, other: _with_query(url, **{"X-Amz-Expires": "604800"}), id="expiry"
        ),
        pytest.param(
            lambda url, other: _with_query(url, **{"response-content-type": "text/html"}),
            id="content-type",
        ),
        pytest.param(
            lambda url, other: _with_query(url, **{"response-content-disposition": "inline"}),
            id="disposition",
        ),
    ],
)
def test_an_altered_presigned_url_is_refused(client, bought, alter):
    # Another buyer's file, in the same bucket, is the key an attacker would try.
    other = add_file(ProductFactory(), pdf_bytes(b"someone else's"), "other.pdf")
    url = _presigned(client, *bought)
    altered = alter(url, other.file.name)
    assert altered != url
    status, _, body = fetch(altered)
    assert status == 403
    assert b"someone else" not in body and CONTENT[:100] not in body


def test_an_anonymous_request_for_a_paid_file_is_refused(bought, on_s3):
    _, asset = bought
    bucket_url = f"{on_s3.endpoint_url}/{on_s3.private_bucket}"
    status, _, body = fetch(f"{bucket_url}/{asset.file.name}")
    assert status == 403
    assert CONTENT[:100] not in body
    for listing in (f"{bucket_url}/", f"{bucket_url}?list-type=2"):
        status, _, body = fetch(listing)
        assert status == 403, listing
        assert asset.file.name.encode() not in body, listing


def test_a_revoked_purchase_gets_no_new_presigned_url(client, bought):
    entitlement, asset = bought
    path = _download_path(entitlement, asset)
    entitlement_revoke(entitlement=entitlement, reason="Refunded.")
    response = client.get(path)
    assert response.status_code == 403
    assert not response.has_header("Location")


def test_a_paid_file_on_s3_has_no_url_only_the_gate_presigns(client, bought, on_s3):
    """As on local disk: a template or the admin asking for a paid file's URL gets an error."""
    entitlement, asset = bought
    with pytest.raises(ValueError, match="Private files have no URL"):
        asset.file.url  # noqa: B018 - the property is what templates call
    with pytest.raises(ValueError, match="Private files have no URL"):
        default_storage.url(asset.file.name)
    # Covers and previews stay public, with plain URLs.
    assert (
        public_storage()
        .url("covers/x.jpg")
        .startswith(f"{on_s3.endpoint_url}/{on_s3.public_bucket}/covers/x.jpg")
    )
    status, _, body = fetch(_presigned(client, entitlement, asset))
    assert status == 200 and body == CONTENT
