"""Paid files have no URL: not through MEDIA_URL, static files or any other path."""

from __future__ import annotations

import pytest

from tests.factories import add_file, pdf_bytes

pytestmark = pytest.mark.django_db


def test_private_files_are_unreachable_by_any_url(client, product, settings):
    asset = add_file(product, pdf_bytes(b"secret bytes"), "secret.pdf")
    name = asset.file.name  # e.g. assets/<uuid>.pdf
    assert asset.file.storage.exists(name)
    with pytest.raises(ValueError):
        asset.file.url  # noqa: B018 - the private storage refuses to make one
    candidates = [
        f"/media/{name}",
        f"/media/private/{name}",
        f"/media/../private/{name}",
        f"/media/%2e%2e/private/{name}",
        f"/static/{name}",
        f"/static/../media/private/{name}",
        f"/{name}",
        f"/private/{name}",
    ]
    for path in candidates:
        response = client.get(path)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert response.status_code in (301, 302, 400, 404), path
        assert b"secret bytes" not in body, path


def test_public_covers_are_served_under_media_url(client, product):
    from django.core.files.base import ContentFile

    product.cover.save("c.jpg", ContentFile(b"\xff\xd8\xff fake jpeg"), save=True)
    response = client.get(product.cover.url)
    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    assert body.startswith(b"\xff\xd8\xff")
