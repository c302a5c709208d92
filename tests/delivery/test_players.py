"""Play and read in the library: player links through the same gate, counted as streams."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from delivery import access
from delivery.formats.models import StreamStart
from delivery.models import Download
from delivery.services import entitlement_grant, entitlement_revoke, library_link_create
from tests.factories import add_file, demo_media, pdf_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def bought(product):
    tracks = [
        add_file(product, demo_media("album-01-departure.mp3"), "01 Departure.mp3", position=1),
        add_file(product, demo_media("album-02-tunnel.mp3"), "02 Tunnel.mp3", position=2),
    ]
    book = add_file(product, pdf_bytes(b"x" * 100), "book.pdf", position=3)
    entitlement = entitlement_grant(email="fan@example.com", product=product, download_limit=1)
    token = library_link_create(library=entitlement.library)
    return entitlement, tracks, book, token


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_the_library_has_a_playlist_and_a_read_link(client, bought):
    _entitlement, _tracks, _book, token = bought
    html = client.get(reverse("delivery:library", kwargs={"token": token})).content.decode()
    players = re.findall(r'<audio controls preload="none" src="(/play/[^"]+/)"', html)
    assert len(players) == 2
    assert re.search(r'href="/play/[^"]+/" target="_blank" rel="noopener"', html)


def test_a_player_gets_ranges_inline_counted_as_streams_not_downloads(client, bought):
    entitlement, tracks, _book, _token = bought
    url = reverse(
        "delivery:stream", args=[access.stream_link_mint(entitlement=entitlement, asset=tracks[0])]
    )
    for _ in range(3):  # more plays than the download limit allows downloads
        first = client.get(url, HTTP_RANGE="bytes=0-")
        assert first.status_code == 206
        assert first["Content-Disposition"].startswith("inline")
        assert first["Content-Type"] == "audio/mpeg"
    middle = client.get(url, HTTP_RANGE="bytes=1000-1999")
    assert _body(middle) == demo_media("album-01-departure.mp3")[1000:2000]
    assert StreamStart.objects.filter(entitlement=entitlement, asset=tracks[0]).count() == 3
    assert not Download.objects.exists()


def test_a_pdf_opens_in_the_browser(client, bought):
    entitlement, _tracks, book, _token = bought
    url = reverse(
        "delivery:stream", args=[access.stream_link_mint(entitlement=entitlement, asset=book)]
    )
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("inline")


def test_a_revoked_purchase_stops_playing(client, bought):
    entitlement, tracks, _book, _token = bought
    url = reverse(
        "delivery:stream", args=[access.stream_link_mint(entitlement=entitlement, asset=tracks[1])]
    )
    entitlement_revoke(entitlement=entitlement, reason="Refunded.")
    assert client.get(url).status_code == 403


def test_a_player_link_is_no_download_link_and_back(client, bought):
    entitlement, tracks, _book, _token = bought
    stream_token = access.stream_link_mint(entitlement=entitlement, asset=tracks[0])
    file_token = access.file_link_mint(entitlement=entitlement, asset=tracks[0])
    assert client.get(reverse("delivery:download", args=[stream_token])).status_code == 404
    assert client.get(reverse("delivery:stream", args=[file_token])).status_code == 404
