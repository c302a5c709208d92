"""How the bytes leave: ranges, HEAD, the protective headers, each backend."""

from __future__ import annotations

from urllib.parse import unquote

import pytest
from django.urls import reverse

from catalog.media import safe_filename
from delivery import access
from delivery.models import Download
from delivery.services import entitlement_grant, entitlement_revoke
from delivery.serving import parse_range
from tests.factories import add_file

pytestmark = pytest.mark.django_db

CONTENT = bytes(range(256)) * 40  # 10,240 bytes


@pytest.fixture
def link(product):
    asset = add_file(product, CONTENT, "Ñotes – été.pdf")
    entitlement = entitlement_grant(email="fan@example.com", product=product)
    return reverse(
        "delivery:download",
        kwargs={"signed": access.file_link_mint(entitlement=entitlement, asset=asset)},
    )


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_a_whole_file_comes_with_length_and_protective_headers(client, link):
    response = client.get(link)
    assert response.status_code == 200
    assert _body(response) == CONTENT
    assert response["Content-Length"] == str(len(CONTENT))
    assert response["Accept-Ranges"] == "bytes"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "private, no-store"
    assert response["Content-Type"] == "application/octet-stream"  # no PDF magic in CONTENT
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert unquote(disposition.split("filename*=utf-8''")[1]) == "Ñotes – été.pdf"


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [
        ("bytes=0-99", 0, 99),
        ("bytes=10000-", 10000, 10239),
        ("bytes=-40", 10200, 10239),
        ("bytes=5000-999999", 5000, 10239),
    ],
)
def test_a_single_range_is_206_with_content_range(client, link, header, first, last):
    response = client.get(link, HTTP_RANGE=header)
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes {first}-{last}/{len(CONTENT)}"
    assert response["Content-Length"] == str(last - first + 1)
    assert _body(response) == CONTENT[first : last + 1]


@pytest.mark.parametrize("header", ["bytes=10240-", "bytes=99999-100000", "bytes=-0"])
def test_an_unsatisfiable_range_is_416(client, link, header):
    response = client.get(link, HTTP_RANGE=header)
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{len(CONTENT)}"


@pytest.mark.parametrize("header", ["bytes=0-1,5-9", "items=0-5", "bytes=9-2", "nonsense"])
def test_a_range_not_understood_gets_the_whole_file(client, link, header):
    response = client.get(link, HTTP_RANGE=header)
    assert response.status_code == 200
    assert _body(response) == CONTENT


def test_if_range_with_the_current_etag_resumes_and_a_stale_one_restarts(client, link):
    etag = client.get(link)["ETag"]
    resumed = client.get(link, HTTP_RANGE="bytes=100-", HTTP_IF_RANGE=etag)
    assert resumed.status_code == 206
    restarted = client.get(link, HTTP_RANGE="bytes=100-", HTTP_IF_RANGE='"stale"')
    assert restarted.status_code == 200
    assert _body(restarted) == CONTENT


def test_head_sends_headers_only_and_is_not_logged(client, link):
    response = client.head(link)
    assert response.status_code == 200
    assert response["Content-Length"] == str(len(CONTENT))
    assert response.content == b""
    assert not Download.objects.exists()


def test_ranged_requests_count_once_and_are_logged_once_per_network(client, link):
    client.get(link, HTTP_RANGE="bytes=0-99", HTTP_USER_AGENT="DownloadManager/1.0")
    assert client.get(link, HTTP_RANGE="bytes=100-").status_code == 206
    assert client.get(link, HTTP_RANGE="bytes=200-", REMOTE_ADDR="127.0.0.9").status_code == 206
    client.get(link, HTTP_RANGE="bytes=300-", REMOTE_ADDR="198.51.100.4")
    rows = list(Download.objects.order_by("at"))
    assert [(row.counted, row.network) for row in rows] == [
        (True, "127.0.0.0/24"),
        (False, "198.51.100.0/24"),
    ]
    assert rows[0].range_header == "bytes=0-99"
    assert rows[0].user_agent == "DownloadManager/1.0"
    assert rows[0].ip == "127.0.0.1"


def test_x_accel_hands_the_bytes_to_nginx(client, link, settings):
    settings.DELIVERY_BACKEND = "x-accel"
    response = client.get(link)
    assert response.status_code == 200
    assert response.content == b""
    assert response["X-Accel-Redirect"].startswith("/_protected/assets/")
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"


def test_x_sendfile_names_the_file_on_disk(client, link, settings):
    settings.DELIVERY_BACKEND = "x-sendfile"
    response = client.get(link)
    with open(response["X-Sendfile"], "rb") as handle:
        assert handle.read() == CONTENT
    assert response["Cache-Control"] == "private, no-store"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("evil\r\nSet-Cookie: a=b.pdf", "evilSet-Cookie: a=b.pdf"),
        ("../../etc/passwd", "passwd"),
        ('quote".pdf', 'quote".pdf'),
        ("\x00\x07", "download"),
        ("C:\\Users\\me\\book.epub", "book.epub"),
    ],
)
def test_a_crafted_name_cannot_inject_headers_or_paths(client, product, name, expected):
    assert safe_filename(name) == expected
    asset = add_file(product, CONTENT, name)
    entitlement = entitlement_grant(email="fan@example.com", product=product)
    response = client.get(
        reverse(
            "delivery:download",
            kwargs={"signed": access.file_link_mint(entitlement=entitlement, asset=asset)},
        )
    )
    assert response.status_code == 200
    assert (
        "\n" not in response["Content-Disposition"] and "\r" not in response["Content-Disposition"]
    )
    assert not response.has_header("Set-Cookie")


def test_parse_range_edge_cases():
    assert parse_range("", 10) is None
    assert parse_range("bytes=0-0", 10) == (0, 0)
    assert parse_range("bytes=-20", 10) == (0, 9)
    assert parse_range("bytes=0-", 0) is False


def test_a_revoked_purchase_stops_the_next_request(client, product):
    asset = add_file(product, CONTENT, "a.pdf")
    entitlement = entitlement_grant(email="fan@example.com", product=product)
    link = reverse(
        "delivery:download",
        kwargs={"signed": access.file_link_mint(entitlement=entitlement, asset=asset)},
    )
    assert client.get(link).status_code == 200
    entitlement_revoke(entitlement=entitlement, reason="Refunded.")
    refused = client.get(link)
    assert refused.status_code == 403
    assert "Refunded." in refused.content.decode()


def test_an_expired_link_offers_the_way_back_to_the_library(client, link, settings):
    settings.FILE_LINK_MAX_AGE = -1
    response = client.get(link)
    assert response.status_code == 410
    assert "has expired" in response.content.decode()
    assert reverse("delivery:library_request") in response.content.decode()


def test_a_tampered_link_is_a_plain_404(client, link):
    assert client.get(link[:-3] + "zz/").status_code == 404


def test_control_characters_in_request_headers_are_logged_harmlessly(client, link):
    response = client.get(link, HTTP_USER_AGENT="bot\x00\x01/1.0", HTTP_RANGE="bytes=0-9\x00")
    assert response.status_code == 200
    row = Download.objects.get()
    assert row.user_agent == "bot/1.0"
    assert row.range_header == "bytes=0-9"


def test_behind_a_trusted_proxy_the_address_it_saw_is_logged(client, link, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    client.get(link, REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.5")
    row = Download.objects.get()
    assert (row.ip, row.network) == ("203.0.113.5", "203.0.113.0/24")


def test_without_a_trusted_proxy_a_forwarded_header_is_ignored(client, link):
    client.get(link, REMOTE_ADDR="198.51.100.4", HTTP_X_FORWARDED_FOR="6.6.6.6")
    assert Download.objects.get().ip == "198.51.100.4"


@pytest.mark.parametrize("forwarded", ["", "not-an-ip", "1.2.3.4.5", "\x00"])
def test_a_malformed_forwarded_header_logs_no_address(client, link, settings, forwarded):
    settings.TRUSTED_PROXY_COUNT = 1
    response = client.get(link, HTTP_X_FORWARDED_FOR=forwarded)
    assert response.status_code == 200
    row = Download.objects.get()
    assert row.ip is None or row.ip == "127.0.0.1"
    assert row.ip != forwarded


def test_an_ipv6_zone_is_dropped_from_the_logged_address(client, link, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    client.get(link, HTTP_X_FORWARDED_FOR="fe80::1%eth0")
    row = Download.objects.get()
    assert (row.ip, row.network) == ("fe80::1", "fe80::/48")
