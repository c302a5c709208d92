from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache

from catalog.discovery.backends import lexeme_shares_forget
from catalog.kept import fronts_forget
from catalog.models import Asset, Product
from tests.factories import ProductFactory, add_file, pdf_bytes
from tests.s3server import S3Server, s3_server_or_skip


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    cache.clear()
    fronts_forget()
    lexeme_shares_forget()


@pytest.fixture(autouse=True)
def _commands_in_english(monkeypatch: pytest.MonkeyPatch) -> None:
    # Management commands speak the shell's language (catalog/cli.py); the tests read
    # English whatever the developer's locale is, unless a test asks for French.
    monkeypatch.setenv("ECHOPPE_LANGUAGE", "en")


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """SeaweedFS on loopback for the whole run (tests/s3server.py); skips without `weed`."""
    yield from s3_server_or_skip()


@pytest.fixture
def product(db: None) -> Product:
    return ProductFactory(title="Field Notes", price=1250)


@pytest.fixture
def pdf_asset(product: Product) -> Asset:
    return add_file(product, pdf_bytes(bytes(range(256)) * 40), "Ñotes – été.pdf")


class LimitClock:
    """The limiter's clock, at the start of an hour; ``advance`` moves it on."""

    def __init__(self) -> None:
        self.at = 1_800_000_000.0  # a multiple of every window the limits use

    def __call__(self) -> float:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += seconds


@pytest.fixture
def limit_clock(monkeypatch: pytest.MonkeyPatch) -> LimitClock:
    clock = LimitClock()
    monkeypatch.setattr("catalog.limits.now", clock)
    return clock
