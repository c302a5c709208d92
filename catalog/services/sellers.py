"""Sellers: sign-up, the shop's profile and address, and proving the email.

The verification email is a background task defined here, beside the service
that enqueues it.
"""

from __future__ import annotations

import re
from zoneinfo import available_timezones

from django.conf import settings
from django.contrib.auth.models import User
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.mail import send_mail
from django.core.validators import URLValidator
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.text import slugify
from django.utils.translation import gettext

from catalog.accounts import AccountError, account_create, email_normalize
from catalog.currencies import CURRENCY_CODES
from catalog.discovery.services import seller_index
from catalog.l10n import current_language, language_or_default
from catalog.mail import mail_task
from catalog.models import Seller
from catalog.services import CatalogError
from catalog.services.images import image_store, stored_file_delete

# Seller addresses are /@<slug>/; these would let a shop pass for the site itself.
RESERVED_SLUGS = frozenset(
    """about account accounts admin administrator api billing checkout contact dashboard
    echoppe help home library login logout media new official orders pay payments privacy
    root search security sell seller sellers settings shop signup static staff store support
    system tags terms upload uploads www""".split()  # noqa: SIM905 - a word list reads better
)
SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,58}[a-z0-9])$")
MAX_LINKS = 5
EMAIL_VERIFY_SALT = "catalog.email-verify"


def slug_check(slug: str) -> str:
    slug = (slug or "").strip().lower()
    if not SLUG_RE.match(slug):
        raise CatalogError(
            gettext(
                "Use 3 to 60 lower-case letters, digits and hyphens, "
                "starting and ending with a letter or digit."
            ),
            field="slug",
        )
    if slug in RESERVED_SLUGS:
        raise CatalogError(
            gettext("“%(slug)s” is reserved; choose another address.") % {"slug": slug},
            field="slug",
        )
    return slug


def _free_seller_slug(name: str) -> str:
    base = slugify(name)[:50].strip("-") or "shop"
    if len(base) < 3 or base in RESERVED_SLUGS:
        base = f"{base}-shop".strip("-")
    candidate, n = base, 1
    while Seller.objects.filter(slug=candidate).exists():
        n += 1
        candidate = f"{base}-{n}"
    return candidate


@transaction.atomic
def seller_signup(*, email: str, password: str, display_name: str) -> Seller:
    """A new account and its seller profile; the verification email leaves on commit."""
    display_name = display_name.strip()
    if not display_name:
        raise CatalogError(gettext("Enter the name buyers will see."), field="display_name")
    try:
        user = account_create(email=email, password=password)
    except AccountError as exc:
        raise CatalogError(exc.message, field=exc.field) from exc
    return seller_create(user=user, display_name=display_name)


@transaction.atomic
def seller_create(*, user: User, display_name: str) -> Seller:
    """A seller profile for an existing account (sign-up, or a buyer who starts selling)."""
    email = getattr(user, "email", "")
    if not email:
        raise CatalogError(
            gettext("Your account needs an email address first."), field="display_name"
        )
    if Seller.objects.filter(user=user).exists():
        raise CatalogError(gettext("This account already has a shop."))
    display_name = display_name.strip()[:120]
    if not display_name:
        raise CatalogError(gettext("Enter the name buyers will see."), field="display_name")
    currency = settings.STORE_CURRENCY if settings.STORE_CURRENCY in CURRENCY_CODES else "EUR"
    seller = Seller.objects.create(
        user=user,
        display_name=display_name,
        slug=_free_seller_slug(display_name),
        currency=currency,
        timezone=settings.TIME_ZONE,
        # The language the seller signed up in writes their mails until they choose.
        language=current_language(),
    )
    seller_send_verification(seller=seller)
    return seller


def links_check(links: list[str]) -> list[str]:
    cleaned: list[str] = []
    validator = URLValidator(schemes=["http", "https"])
    for link in links:
        link = link.strip()
        if not link:
            continue
        try:
            validator(link)
        except ValidationError:
            raise CatalogError(
                gettext("“%(link)s” is not a web address (it must start with https://).")
                % {"link": link[:80]},
                field="links",
            ) from None
        if link not in cleaned:
            cleaned.append(link)
    if len(cleaned) > MAX_LINKS:
        raise CatalogError(
            gettext("Up to %(MAX_LINKS)s links, please.") % {"MAX_LINKS": MAX_LINKS}, field="links"
        )
    return cleaned


# An EU VAT number: the member state's code (Greece: EL), then 2 to 12 letters or digits.
VAT_NUMBER = re.compile(r"^(?:[A-Z]{2})[0-9A-Z+*]{2,12}$")


def vat_number_check(value: str) -> str:
    """A VAT number as printed (upper case, without spaces, dots or dashes), or empty."""
    cleaned = re.sub(r"[\s.\-]", "", value).upper()
    if cleaned and not VAT_NUMBER.match(cleaned):
        raise CatalogError(
            gettext(
                "“%(value)s” is not a VAT number: write its country code and then its "
                "digits, like FR12345678901."
            )
            % {"value": value.strip()[:30]},
            field="vat_number",
        )
    return cleaned


@transaction.atomic
def seller_update(
    *,
    seller: Seller,
    display_name: str,
    slug: str,
    bio: str,
    links: list[str],
    currency: str,
    timezone_name: str,
    language: str | None = None,
    avatar: File | None = None,
    remove_avatar: bool = False,
    is_organization: bool | None = None,
    tax_behavior: str | None = None,
    legal_name: str | None = None,
    legal_address: str | None = None,
    vat_number: str | None = None,
) -> Seller:
    display_name = display_name.strip()
    if not display_name:
        raise CatalogError(gettext("Enter the name buyers will see."), field="display_name")
    slug = slug_check(slug)
    if Seller.objects.filter(slug=slug).exclude(pk=seller.pk).exists():
        raise CatalogError(gettext("Another shop already uses this address."), field="slug")
    if currency not in CURRENCY_CODES:
        raise CatalogError(gettext("Choose a currency from the list."), field="currency")
    if timezone_name not in available_timezones():
        raise CatalogError(gettext("Choose a time zone from the list."), field="timezone")
    if tax_behavior and tax_behavior not in Seller.TaxBehavior.values:
        raise CatalogError(gettext("Choose whether your prices include VAT."), field="tax_behavior")
    if vat_number is not None:
        vat_number = vat_number_check(vat_number)
    seller.display_name = display_name[:120]
    seller.slug = slug
    seller.bio = bio.strip()
    seller.links = links_check(links)
    seller.currency = currency
    seller.timezone = timezone_name
    if is_organization is not None:
        seller.is_organization = is_organization
    if tax_behavior:
        seller.tax_behavior = tax_behavior
    if legal_name is not None:
        seller.legal_name = legal_name.strip()[:200]
    if legal_address is not None:
        seller.legal_address = legal_address.strip()[:500]
    if vat_number is not None:
        seller.vat_number = vat_number
    if language is not None:
        seller.language = language_or_default(language)
    if (avatar is not None or remove_avatar) and seller.avatar:
        stored_file_delete(field=seller.avatar)
        seller.avatar.name = ""
    if avatar is not None:
        image_store(field=seller.avatar, source=avatar)
    seller.save()
    seller_index(seller=seller)
    return seller


def email_verification_token(*, seller: Seller) -> str:
    signer = signing.TimestampSigner(salt=EMAIL_VERIFY_SALT)
    return signer.sign_object(
        {"s": seller.pk, "e": email_normalize(seller.user.email)}, compress=False
    )


@mail_task
def send_verification_email(*, seller_id: int) -> None:
    """Email a seller the signed link that proves the address is theirs."""
    seller = Seller.objects.select_related("user").get(pk=seller_id)
    with translation.override(language_or_default(seller.language)):
        _verification_send(seller)


def _verification_send(seller: Seller) -> None:
    token = email_verification_token(seller=seller)
    context = {
        "seller": seller,
        "verify_url": settings.SITE_URL + reverse("catalog:sell_verify", kwargs={"token": token}),
        "valid_days": max(1, settings.EMAIL_VERIFY_MAX_AGE // 86400),
        "store_name": settings.STORE_NAME,
    }
    send_mail(
        subject=gettext("Confirm your email for %(store)s") % {"store": settings.STORE_NAME},
        message=render_to_string("catalog/sell/email/verify.txt", context),
        from_email=None,
        recipient_list=[seller.user.email],
    )


def seller_send_verification(*, seller: Seller) -> None:
    """Email the seller a signed, expiring link (sent once the transaction commits)."""
    seller_id = seller.pk
    transaction.on_commit(lambda: send_verification_email.enqueue(seller_id=seller_id))


@transaction.atomic
def seller_verify_email(*, token: str) -> Seller:
    signer = signing.TimestampSigner(salt=EMAIL_VERIFY_SALT)
    try:
        payload = signer.unsign_object(token, max_age=settings.EMAIL_VERIFY_MAX_AGE)
        seller_id, email = int(payload["s"]), str(payload["e"])
    except signing.SignatureExpired:
        raise CatalogError(
            gettext("This verification link has expired: ask for a new one from your dashboard.")
        ) from None
    except (signing.BadSignature, ValueError, TypeError, KeyError, UnicodeDecodeError):
        raise CatalogError(gettext("This verification link is not valid.")) from None
    seller = Seller.objects.select_for_update().select_related("user").filter(pk=seller_id).first()
    if seller is None or email_normalize(seller.user.email) != email:
        raise CatalogError(gettext("This verification link is not valid any more."))
    if seller.email_verified_at is None:
        seller.email_verified_at = timezone.now()
        seller.save(update_fields=["email_verified_at"])
    return seller
