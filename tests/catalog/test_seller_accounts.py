"""Seller sign-up, email verification, logging in with an email, password reset, profile."""

from __future__ import annotations

import io
import re
import time

import pytest
from django.contrib.auth import get_user_model
from django.core import mail, signing
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from PIL import Image

from catalog.models import Product, Seller
from tests.factories import ProductFactory, SellerFactory, UserFactory, add_file, wav_bytes

pytestmark = pytest.mark.django_db

SIGNUP = {
    "email": "Zoe@Example.com",
    "password": "a-long-pass-phrase",
    "display_name": "Zoé Martin",
}


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """Run what waits for the commit (the verification email) at the end of the block."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def verify_link() -> str:
    match = re.search(r"http://testserver(/sell/verify/[^\s]+/)", mail.outbox[-1].body)
    assert match, mail.outbox[-1].body
    return match.group(1)


def png(size=(64, 64)) -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", size, "#5b3cc4").save(out, "PNG")
    return SimpleUploadedFile("me.png", out.getvalue(), content_type="image/png")


def test_signing_up_opens_a_shop_logs_in_and_sends_a_verification_link(client, commit):
    with commit():
        response = client.post(reverse("catalog:sell_signup"), SIGNUP)
    assert response.status_code == 302 and response["Location"] == reverse("catalog:sell_dashboard")
    seller = Seller.objects.get()
    assert seller.user.email == "zoe@example.com"
    assert seller.display_name == "Zoé Martin" and seller.slug == "zoe-martin"
    assert not seller.is_verified
    assert mail.outbox[-1].to == ["zoe@example.com"]
    dashboard = client.get(reverse("catalog:sell_dashboard")).content.decode()
    assert "Confirm your email to publish." in dashboard

    page = client.get(verify_link())
    assert page.status_code == 200 and "Email confirmed" in page.content.decode()
    seller.refresh_from_db()
    assert seller.is_verified


def test_a_second_account_with_the_same_email_is_refused(client):
    UserFactory(username="old", email="zoe@example.com")
    response = client.post(reverse("catalog:sell_signup"), SIGNUP)
    assert response.status_code == 400
    assert "An account already uses this address" in response.content.decode()
    assert not Seller.objects.exists()


def test_a_weak_password_is_refused_with_the_reason(client):
    response = client.post(reverse("catalog:sell_signup"), {**SIGNUP, "password": "12345678"})
    assert response.status_code == 400
    assert "This password is too common." in response.content.decode()
    assert not get_user_model().objects.exists()


def test_an_expired_verification_link_is_refused(client, monkeypatch):
    client.post(reverse("catalog:sell_signup"), SIGNUP)
    four_days_ago = signing.b62_encode(int(time.time()) - 4 * 86400)
    monkeypatch.setattr(signing.TimestampSigner, "timestamp", lambda self: four_days_ago)
    seller = Seller.objects.get()
    from catalog.services.sellers import email_verification_token

    old = email_verification_token(seller=seller)
    monkeypatch.undo()
    response = client.get(reverse("catalog:sell_verify", args=[old]))
    assert response.status_code == 400
    assert "This verification link has expired" in response.content.decode()
    seller.refresh_from_db()
    assert not seller.is_verified


def test_a_tampered_verification_link_is_refused(client, commit):
    with commit():
        client.post(reverse("catalog:sell_signup"), SIGNUP)
    link = verify_link()
    response = client.get(link.replace("/sell/verify/", "/sell/verify/x"))
    assert response.status_code == 400
    assert "not valid" in response.content.decode()


def test_a_link_sent_to_an_old_address_does_not_verify_the_new_one(client, commit):
    with commit():
        client.post(reverse("catalog:sell_signup"), SIGNUP)
    link = verify_link()
    get_user_model().objects.update(email="new@example.com")
    assert client.get(link).status_code == 400
    assert not Seller.objects.get().is_verified


def test_asking_again_for_the_link_is_limited_to_once_a_minute(client, commit):
    client.post(reverse("catalog:sell_signup"), SIGNUP)
    sent = len(mail.outbox)
    with commit():
        client.post(reverse("catalog:sell_verify_resend"))
        client.post(reverse("catalog:sell_verify_resend"))
    assert len(mail.outbox) == sent + 1


def test_an_unverified_seller_prepares_but_cannot_publish(client):
    seller = SellerFactory(email_verified_at=None)
    product = ProductFactory(seller=seller, status=Product.Status.DRAFT, title="Zine")
    add_file(product, wav_bytes(2000), "a.wav")
    client.force_login(seller.user)
    data = {
        "title": "Zine",
        "kind": "ebook",
        "currency": "EUR",
        "pricing": "fixed",
        "price": "5",
        "status": "published",
        "slug": product.slug,
    }
    response = client.post(reverse("catalog:sell_product", args=[product.pk]), data)
    assert response.status_code == 400
    assert "Before publishing, verify your email address" in response.content.decode()
    product.refresh_from_db()
    assert product.status == Product.Status.DRAFT


def test_sellers_log_in_with_their_email_in_any_case():
    UserFactory(username="zoe-account", email="zoe@example.com", password="pass-word-123")
    client = Client()
    response = client.post(
        reverse("login"), {"username": "ZOE@example.com", "password": "pass-word-123"}
    )
    assert response.status_code == 302
    assert (
        client.get(reverse("catalog:sell_dashboard")).status_code == 302
    )  # logged in: sent to open a shop
    assert "_auth_user_id" in client.session


def test_an_email_shared_by_two_accounts_logs_neither_in():
    UserFactory(username="one", email="twin@example.com", password="pass-word-123")
    UserFactory(username="two", email="twin@example.com", password="pass-word-123")
    client = Client()
    response = client.post(
        reverse("login"), {"username": "twin@example.com", "password": "pass-word-123"}
    )
    assert response.status_code == 200
    assert "didn't match" in response.content.decode()


def test_a_forgotten_password_is_reset_through_an_emailed_link(client, commit):
    UserFactory(username="zoe", email="zoe@example.com", password="pass-word-123")
    form = client.get(reverse("password_reset"))
    assert form.status_code == 200 and "Reset your password" in form.content.decode()
    with commit():
        response = client.post(reverse("password_reset"), {"email": "zoe@example.com"})
    assert response["Location"] == reverse("password_reset_done")
    link = re.search(
        r"http://testserver(/accounts/password/reset/[^\s]+/)", mail.outbox[-1].body
    ).group(1)
    page = client.get(link, follow=True)
    assert "Choose a new password" in page.content.decode()
    done = client.post(
        page.redirect_chain[-1][0],
        {"new_password1": "another-long-phrase", "new_password2": "another-long-phrase"},
        follow=True,
    )
    assert "Password changed" in done.content.decode()
    assert Client().login(username="zoe@example.com", password="another-long-phrase")


def test_a_buyer_account_opens_a_shop(client, commit):
    user = UserFactory(email="fan@example.com")
    client.force_login(user)
    assert client.get(reverse("catalog:sell_dashboard"))["Location"] == reverse(
        "catalog:sell_start"
    )
    with commit():
        client.post(reverse("catalog:sell_start"), {"display_name": "Fan Club"})
    assert Seller.objects.get(user=user).slug == "fan-club"
    assert mail.outbox[-1].to == ["fan@example.com"]


def profile_data(seller, **changes):
    data = {
        "display_name": seller.display_name,
        "slug": seller.slug,
        "bio": "",
        "links": "",
        "currency": "EUR",
        "timezone": "Europe/Paris",
    }
    data.update(changes)
    return data


def test_the_profile_saves_and_the_public_page_shows_it(seller, seller_client, settings):
    settings.STORE_CURRENCY = "CHF"  # the profile offers the currencies the shop charges
    response = seller_client.post(
        reverse("catalog:sell_profile"),
        profile_data(
            seller,
            slug="maelle-ecrit",
            bio="I write *essays*. <script>alert(1)</script>",
            links="https://maelle.example\nhttps://maelle.example\nhttp://social.example/@maelle",
            currency="CHF",
            avatar=png(),
        ),
    )
    assert response.status_code == 302, response.content.decode()
    seller.refresh_from_db()
    assert (seller.slug, seller.currency, seller.timezone) == (
        "maelle-ecrit",
        "CHF",
        "Europe/Paris",
    )
    assert seller.links == ["https://maelle.example", "http://social.example/@maelle"]
    html = Client().get("/@maelle-ecrit/").content.decode()
    # The page shows the avatar's small size, stored beside it without EXIF.
    assert seller.avatar.url.replace("1200.jpg", "600.jpg") in html
    assert 'href="https://maelle.example"' in html and "<em>essays</em>" in html
    assert "<script>alert" not in html


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"slug": "admin"}, "“admin” is reserved"),
        ({"slug": "Not A Slug!"}, "Use 3 to 60 lower-case letters"),
        ({"slug": "taken"}, "Another shop already uses this address."),
        ({"links": "javascript:alert(1)"}, "is not a web address"),
        ({"links": "\n".join(f"https://{i}.example" for i in range(6))}, "Up to 5 links"),
        ({"currency": "XXX"}, "Select a valid choice"),
        ({"timezone": "Mars/Olympus"}, "Select a valid choice"),
        ({"display_name": "  "}, "This field is required"),
    ],
)
def test_bad_profile_input_gets_a_specific_message(seller, seller_client, changes, message):
    SellerFactory(slug="taken")
    response = seller_client.post(reverse("catalog:sell_profile"), profile_data(seller, **changes))
    assert response.status_code == 400
    assert message in response.content.decode()
    seller.refresh_from_db()
    assert seller.slug == "maelle"


@pytest.mark.parametrize(
    "upload, message",
    [
        (
            SimpleUploadedFile("me.eps", b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n"),
            "Use a JPEG, PNG or WebP image.",
        ),
        (
            SimpleUploadedFile("me.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40),
            "Use a JPEG, PNG or WebP image.",
        ),
        (SimpleUploadedFile("me.gif", b"GIF89a" + b"\x00" * 40), "Use a JPEG, PNG or WebP image."),
    ],
)
def test_an_avatar_that_is_not_a_safe_image_is_refused(seller, seller_client, upload, message):
    response = seller_client.post(
        reverse("catalog:sell_profile"), profile_data(seller, avatar=upload)
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    seller.refresh_from_db()
    assert not seller.avatar


def test_a_huge_image_is_refused_before_it_is_decoded(seller, seller_client, monkeypatch):
    from catalog import forms

    monkeypatch.setattr(forms, "IMAGE_MAX_PIXELS", 100)
    response = seller_client.post(
        reverse("catalog:sell_profile"), profile_data(seller, avatar=png((20, 20)))
    )
    assert response.status_code == 400
    assert "This image is 20×20 pixels" in response.content.decode()
