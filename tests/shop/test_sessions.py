"""Sessions in the database, each write one statement (shop/sessions.py)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.sessions.backends.base import UpdateError
from django.contrib.sessions.models import Session
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from shop import sessions
from shop.sessions import SessionStore


def test_the_shop_keeps_its_sessions_with_this_store():
    assert settings.SESSION_ENGINE == "shop.sessions"


@pytest.mark.django_db(transaction=True)
def test_a_new_session_is_one_insert_and_a_change_one_update():
    store = SessionStore()
    store["cart"] = [1]
    with CaptureQueriesContext(connection) as made:
        store.save()
    assert [q["sql"].split()[0] for q in made.captured_queries] == ["INSERT"]
    again = SessionStore(store.session_key)
    assert again["cart"] == [1]
    again["cart"] = [1, 2]
    with CaptureQueriesContext(connection) as changed:
        again.save()
    assert [q["sql"].split()[0] for q in changed.captured_queries] == ["UPDATE"]
    assert SessionStore(store.session_key)["cart"] == [1, 2]


@pytest.mark.django_db(transaction=True)
def test_a_key_drawn_twice_is_refused_by_the_table_and_another_is_drawn(monkeypatch):
    first = SessionStore()
    first["who"] = "first"
    first.save()
    drawn = iter([first.session_key, "k" * 32])
    monkeypatch.setattr(sessions, "get_random_string", lambda *args: next(drawn))
    second = SessionStore()
    second["who"] = "second"
    second.save()
    assert second.session_key == "k" * 32
    assert SessionStore(first.session_key)["who"] == "first"
    assert SessionStore("k" * 32)["who"] == "second"


@pytest.mark.django_db(transaction=True)
def test_inside_a_transaction_a_refused_key_leaves_the_callers_work_alone(monkeypatch):
    first = SessionStore()
    first.save()
    drawn = iter([first.session_key, "n" * 32])
    monkeypatch.setattr(sessions, "get_random_string", lambda *args: next(drawn))
    with transaction.atomic():
        Session.objects.filter(session_key=first.session_key).update(session_data="kept")
        SessionStore().save()
    assert Session.objects.get(session_key=first.session_key).session_data == "kept"
    assert Session.objects.filter(session_key="n" * 32).exists()


@pytest.mark.django_db(transaction=True)
def test_saving_a_session_deleted_meanwhile_is_an_update_error():
    store = SessionStore()
    store.save()
    Session.objects.all().delete()
    store["late"] = True
    with pytest.raises(UpdateError):
        store.save()
