"""Values kept under keys that name them, the process's copies in front of the shared cache
(catalog/kept.py, decision 107)."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import override_settings

from catalog.kept import ProcessFront, fronts_forget
from catalog.models import Product
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def shared_reads(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The keys each call asked the shared cache for."""
    asked: list[list[str]] = []
    real = cache.get_many

    def counting(keys, *args, **kwargs):
        asked.append(list(keys))
        return real(keys, *args, **kwargs)

    monkeypatch.setattr(cache, "get_many", counting)
    return asked


def test_the_process_copy_spares_the_round_trip(shared_reads):
    front = ProcessFront(2)
    front.set_many({"a": 1, "b": 2}, 60)
    assert front.get_many(["a", "b", "c"]) == {"a": 1, "b": 2}
    assert shared_reads == [["c"]]  # only what the process had not kept


def test_another_process_reads_what_one_rendered_from_the_shared_cache(shared_reads):
    ProcessFront(4).set_many({"a": "card"}, 60)
    other = ProcessFront(4)  # another process: nothing of its own yet
    assert other.get_many(["a"]) == {"a": "card"}
    assert other.get_many(["a"]) == {"a": "card"}
    assert shared_reads == [["a"]]


def test_a_process_keeps_only_its_last_values(shared_reads):
    front = ProcessFront(2)
    front.set_many({"a": 1, "b": 2, "c": 3}, 60)
    assert front.get_many(["b", "c"]) == {"b": 2, "c": 3}
    assert shared_reads == []
    assert front.get_many(["a"]) == {"a": 1}
    assert shared_reads == [["a"]]  # the oldest left the process, not the shared cache


def test_forgetting_and_a_changed_setting_drop_the_copies(shared_reads):
    front = ProcessFront(4)
    front.set_many({"a": 1}, 60)
    fronts_forget()
    cache.clear()
    assert front.get_many(["a"]) == {}
    front.set_many({"a": 1}, 60)
    with override_settings(STORE_NAME="Autre"):
        cache.clear()
        assert front.get_many(["a"]) == {}


def test_a_listing_page_seen_again_asks_the_shared_cache_nothing(client, shared_reads):
    for n in range(3):
        ProductFactory(title=f"Card {n}", status=Product.Status.PUBLISHED)
    assert b"Card 2" in client.get("/").content
    first = [keys for keys in shared_reads if keys and keys[0].startswith("card:")]
    assert len(first) == 1 and len(first[0]) == 3
    shared_reads.clear()
    assert b"Card 2" in client.get("/").content
    assert not [keys for keys in shared_reads if keys and keys[0].startswith("card:")]
