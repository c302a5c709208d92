"""Only the API's documentation page may show data: images (Swagger UI's icons)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def _img_src(response) -> str:  # type: ignore[no-untyped-def]
    policy = dict(
        part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";")
    )
    return policy["img-src"]


def test_the_docs_page_alone_allows_data_images_and_scripts_stay_the_shops(client) -> None:
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200
    assert "data:" in _img_src(docs).split()
    assert "'unsafe-inline'" not in docs["Content-Security-Policy"]
    # (ninja gives the schema document the docs page's decorator too: a JSON file, no images.)
    for path in ("/", "/api/v1/products", "/search/?q=x"):
        assert "data:" not in _img_src(client.get(path)).split(), path
