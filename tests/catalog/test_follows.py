"""Following a creator: double opt-in, one mail per release, one-click unsubscribe."""

from __future__ import annotations

import re
import smtplib

import pytest
from django.core import mail
from django.test import Client, override_settings

from catalog.follows.models import Follow, ReleaseMail
from catalog.follows.services import (
    follow_request,
    followers_count,
    release_announce,
    send_release_mail,
)
from catalog.models import Product
from catalog.services.products import product_status_set
from tests.factories import ProductFactory, SellerFactory, UserFactory, add_file

pytestmark = pytest.mark.django_db


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    def run():
        return django_capture_on_commit_callbacks(execute=True)

    return run


def _link(message, path):
    return re.search(rf"http://testserver({path}[^\s]+/)", message.body).group(1)


def _follow_and_confirm(client, seller, email):
    response = client.post(f"/follow/@{seller.slug}/", {"email": email})
    assert response.status_code == 200
    confirm = _link(mail.outbox[-1], "/follow/confirm/")
    assert client.get(confirm).status_code == 200
    assert Follow.objects.get(email=email.lower()).confirmed_at is None  # a GET confirms nothing
    response = client.post(confirm)
    assert response.status_code == 200
    return Follow.objects.get(seller=seller, email=email.lower())


def test_follow_by_email_is_confirmed_by_the_mailed_link(client):
    seller = SellerFactory(display_name="Les Ondes")
    follow = _follow_and_confirm(client, seller, "Fan@Example.com")
    assert follow.active and follow.email == "fan@example.com"
    assert "Les Ondes" in mail.outbox[0].subject
    assert followers_count(seller=seller) == 1


def test_the_answer_never_says_whether_an_address_already_follows(client):
    seller = SellerFactory()
    first = client.post(f"/follow/@{seller.slug}/", {"email": "fan@example.com"})
    _follow_and_confirm(Client(), seller, "fan@example.com")
    again = client.post(f"/follow/@{seller.slug}/", {"email": "fan@example.com"})
    fresh = client.post(f"/follow/@{seller.slug}/", {"email": "new@example.com"})

    def text(response):
        page = response.content.decode().replace("new@example.com", "fan@example.com")
        # Every form's CSRF token is masked afresh on each page (the language switcher's too).
        return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", page)

    assert first.status_code == again.status_code == fresh.status_code == 200
    assert text(again) == text(fresh) == text(first)


@pytest.mark.parametrize("typed", ["", "not-an-address", "a@" + "b" * 300 + ".com", "x\x00@y.z"])
def test_bad_addresses_are_refused_with_a_message_and_nothing_stored(client, typed):
    seller = SellerFactory()
    response = client.post(f"/follow/@{seller.slug}/", {"email": typed})
    assert response.status_code == 400
    assert b'role="alert"' in response.content
    assert not Follow.objects.exists() and not mail.outbox


@override_settings(LIMIT_FOLLOW=(3, 3600))
def test_follow_requests_are_rate_limited(client, limit_clock):
    seller = SellerFactory()
    for n in range(3):
        assert (
            client.post(f"/follow/@{seller.slug}/", {"email": f"f{n}@example.com"}).status_code
            == 200
        )
    refused = client.post(f"/follow/@{seller.slug}/", {"email": "f9@example.com"})
    assert refused.status_code == 429 and refused["Retry-After"]
    assert b'value="f9@example.com"' in refused.content
    assert not Follow.objects.filter(email="f9@example.com").exists()
    limit_clock.advance(3600)
    assert client.post(f"/follow/@{seller.slug}/", {"email": "f9@example.com"}).status_code == 200


def test_a_verified_sellers_account_follows_at_once_other_accounts_confirm(client):
    seller = SellerFactory()
    fan_seller = SellerFactory()  # verified by the factory
    client.force_login(fan_seller.user)
    response = client.post(f"/follow/@{seller.slug}/")
    assert response.status_code == 200 and not mail.outbox
    assert Follow.objects.get(email=fan_seller.user.email).active
    buyer = UserFactory()
    other = Client()
    other.force_login(buyer)
    other.post(f"/follow/@{seller.slug}/")
    follow = Follow.objects.get(email=buyer.email)
    assert not follow.active and follow.user == buyer
    assert len(mail.outbox) == 1


def test_publishing_mails_confirmed_followers_once(client, commit):
    seller = SellerFactory(display_name="Les Ondes")
    _follow_and_confirm(client, seller, "fan@example.com")
    client.post(f"/follow/@{seller.slug}/", {"email": "pending@example.com"})  # never confirmed
    left = _follow_and_confirm(Client(), seller, "left@example.com")
    left.unsubscribed_at = left.confirmed_at
    left.save()
    mail.outbox.clear()
    draft = ProductFactory(seller=seller, status=Product.Status.DRAFT, title="Night Trains")
    add_file(draft)
    with commit():
        product_status_set(product=draft, status=Product.Status.PUBLISHED)
    (message,) = mail.outbox
    assert message.to == ["fan@example.com"]
    assert message.subject == "New from Les Ondes: Night Trains"
    assert "http://testserver" + draft.get_absolute_url() in message.body
    # Unpublished and published again, the fan-out run again by hand, a retry: nothing new.
    with commit():
        product_status_set(product=draft, status=Product.Status.DRAFT)
        product_status_set(product=draft, status=Product.Status.PUBLISHED)
    release_announce.enqueue(product_id=draft.pk)
    send_release_mail.enqueue(release_mail_id=ReleaseMail.objects.get().pk)
    assert len(mail.outbox) == 1
    assert ReleaseMail.objects.count() == 1


def test_release_mail_has_one_click_unsubscribe(client, commit):
    seller = SellerFactory()
    _follow_and_confirm(client, seller, "fan@example.com")
    mail.outbox.clear()
    product = ProductFactory(seller=seller, status=Product.Status.DRAFT)
    add_file(product)
    with commit():
        product_status_set(product=product, status=Product.Status.PUBLISHED)
    (message,) = mail.outbox
    header = message.extra_headers["List-Unsubscribe"]
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = re.fullmatch(r"<(https?://[^>]+)>", header).group(1)
    assert url in message.body
    path = url.removeprefix("http://testserver")
    # A mail client's one-click POST: no cookie, no CSRF token.
    strict = Client(enforce_csrf_checks=True)
    assert strict.get(path).status_code == 200
    assert Follow.objects.get().active  # opening the link changes nothing
    response = strict.post(path, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert not Follow.objects.get().active
    assert followers_count(seller=seller) == 0
    assert strict.post(path).status_code == 200  # twice is fine


def test_release_mail_given_back_on_a_transient_failure(client, monkeypatch):
    seller = SellerFactory()
    follow = _follow_and_confirm(client, seller, "fan@example.com")
    product = ProductFactory(seller=seller)
    row = ReleaseMail.objects.create(follow=follow, product=product)
    mail.outbox.clear()

    def down(*args, **kwargs):
        raise smtplib.SMTPServerDisconnected("down")

    monkeypatch.setattr("django.core.mail.backends.locmem.EmailBackend.send_messages", down)
    send_release_mail.enqueue(release_mail_id=row.pk)  # the immediate backend logs, no retry
    row.refresh_from_db()
    assert row.sent_at is None
    monkeypatch.undo()
    send_release_mail.enqueue(release_mail_id=row.pk)
    send_release_mail.enqueue(release_mail_id=row.pk)
    assert len(mail.outbox) == 1


@pytest.mark.parametrize("kind", ["confirm", "leave"])
def test_altered_links_are_refused_with_a_page(client, kind):
    response = client.get(f"/follow/{kind}/not-a-token/")
    assert response.status_code == 400
    assert response.headers["Cache-Control"] == "private, no-store"
    assert client.post(f"/follow/{kind}/not-a-token/").status_code == 400


def test_an_old_confirmation_link_does_not_undo_an_unsubscription(client):
    seller = SellerFactory()
    client.post(f"/follow/@{seller.slug}/", {"email": "fan@example.com"})
    confirm = _link(mail.outbox[-1], "/follow/confirm/")
    client.post(confirm)
    follow = Follow.objects.get()
    follow.unsubscribed_at = follow.confirmed_at.replace(year=follow.confirmed_at.year + 1)
    follow.save()
    assert client.post(confirm).status_code == 400
    assert not Follow.objects.get().active


def test_following_again_after_leaving_needs_a_new_confirmation():
    seller = SellerFactory()
    follow = follow_request(seller=seller, email="fan@example.com")
    assert follow is not None
    follow.confirmed_at = follow.created_at
    follow.unsubscribed_at = follow.created_at
    follow.save()
    again = follow_request(seller=seller, email="fan@example.com")
    assert again is not None and again.confirmed_at is None and again.unsubscribed_at is None


def test_dashboard_shows_the_follower_count(client):
    seller = SellerFactory()
    _follow_and_confirm(Client(), seller, "a@example.com")
    _follow_and_confirm(Client(), seller, "b@example.com")
    Client().post(f"/follow/@{seller.slug}/", {"email": "pending@example.com"})
    client.force_login(seller.user)
    html = client.get("/sell/stats/").content.decode()
    assert re.search(r'data-figure="followers">2<', html)


def test_seller_page_offers_to_follow(client):
    seller = SellerFactory()
    html = client.get(seller.get_absolute_url()).content.decode()
    assert f'action="/follow/@{seller.slug}/"' in html
    assert 'id="follow-email"' in html


def test_a_french_follower_is_written_to_in_french_also_by_the_worker(commit):
    from django.utils import translation
    from django.utils.translation import gettext

    seller = SellerFactory(display_name="Les Ondes")
    fan = Client()
    assert fan.post(f"/fr/follow/@{seller.slug}/", {"email": "lea@example.com"}).status_code == 200
    [confirmation] = mail.outbox
    with translation.override("fr"):
        asked = gettext("Confirm that you want news from %(seller)s") % {"seller": "Les Ondes"}
        news = gettext("New from %(seller)s: %(title)s") % {
            "seller": "Les Ondes",
            "title": "Marées",
        }
    assert confirmation.subject == asked != "Confirm that you want news from Les Ondes"
    fan.post(_link(confirmation, "/fr/follow/confirm/"))
    mail.outbox.clear()
    draft = ProductFactory(seller=seller, status=Product.Status.DRAFT, title="Marées")
    add_file(draft)
    with translation.override("en"), commit():  # published by an English seller
        product_status_set(product=draft, status=Product.Status.PUBLISHED)
    [release] = mail.outbox
    assert release.subject == news
    assert "http://testserver/fr/" in release.extra_headers["List-Unsubscribe"]
