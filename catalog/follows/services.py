"""Follows: asking, confirming, leaving, and the new-release mails (see the package docstring)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.validators import validate_email
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_tasks import task

from catalog.accounts import email_normalize
from catalog.follows.models import Follow, ReleaseMail
from catalog.l10n import current_language, language_or_default
from catalog.mail import TRANSIENT, mail_task
from catalog.markdown import markdown_plain
from catalog.models import Product, Seller
from catalog.seller_events import seller_event

log = logging.getLogger(__name__)

CONFIRM_SALT = "catalog.follows.confirm"
UNSUBSCRIBE_SALT = "catalog.follows.unsubscribe"
CONFIRM_MAX_AGE = 3 * 24 * 3600


class FollowError(Exception):
    """A follow request or link that cannot be used; the message says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def follow_email_check(email: str) -> str:
    """The address normalized, or a refusal that says how to write one."""
    email = email_normalize(email or "")
    if not email:
        raise FollowError(_("Enter your email address to follow."))
    if len(email) > 254:
        raise FollowError(_("That email address is too long."))
    try:
        validate_email(email)
    except ValidationError:
        raise FollowError(_("Enter a valid email address, like name@example.com.")) from None
    return email


def _proven(user: AbstractBaseUser | AnonymousUser | None, email: str) -> bool:
    """Whether the account already proved it owns ``email`` (a verified seller)."""
    if user is None or not user.is_authenticated:
        return False
    seller = getattr(user, "seller", None)  # None too when the account sells nothing
    return bool(
        seller is not None
        and seller.is_verified
        and email_normalize(getattr(user, "email", "")) == email
    )


@transaction.atomic
def follow_request(
    *, seller: Seller, email: str, user: AbstractBaseUser | AnonymousUser | None = None
) -> Follow | None:
    """Ask to follow ``seller``. Returns the follow to mail a confirmation link to, or None
    (already following, or confirmed at once for a proven account): nothing to mail."""
    email = follow_email_check(email)
    follow, _made = Follow.objects.select_for_update().get_or_create(seller=seller, email=email)
    follow.language = current_language()  # the latest request's: what they read now
    if user is not None and user.is_authenticated and follow.user_id is None:
        follow.user_id = user.pk  # type: ignore[assignment]
    if follow.active:
        follow.save(update_fields=["user", "language"])
        return None
    if _proven(user, email):
        follow.confirmed_at = timezone.now()
        follow.unsubscribed_at = None
        follow.save()
        _follower_event(follow)
        return None
    # Someone who left and asks again proves the address again.
    follow.confirmed_at = None
    follow.unsubscribed_at = None
    follow.save()
    return follow


def confirm_token(follow: Follow) -> str:
    return signing.dumps({"f": follow.pk, "e": follow.email}, salt=CONFIRM_SALT)


def unsubscribe_token(follow: Follow) -> str:
    return signing.dumps({"f": follow.pk, "e": follow.email}, salt=UNSUBSCRIBE_SALT)


def _follow_from(token: str, *, salt: str, max_age: int | None) -> Follow:
    try:
        data = signing.loads(token, salt=salt, max_age=max_age)
    except signing.SignatureExpired:
        raise FollowError(
            _("This link has expired. Ask to follow again from the creator's page.")
        ) from None
    except signing.BadSignature:
        raise FollowError(_("This link is not valid.")) from None
    follow = (
        Follow.objects.select_related("seller")
        .filter(pk=data.get("f"), email=data.get("e"))
        .first()
    )
    if follow is None:
        raise FollowError(_("This link is not valid any more."))
    return follow


def follow_peek(*, token: str, unsubscribe: bool = False) -> Follow:
    """The follow a link names, for the page that asks to press the button."""
    if unsubscribe:
        return _follow_from(token, salt=UNSUBSCRIBE_SALT, max_age=None)
    return _follow_from(token, salt=CONFIRM_SALT, max_age=CONFIRM_MAX_AGE)


@transaction.atomic
def follow_confirm(*, token: str) -> Follow:
    follow = _follow_from(token, salt=CONFIRM_SALT, max_age=CONFIRM_MAX_AGE)
    follow = Follow.objects.select_for_update().select_related("seller").get(pk=follow.pk)
    # A confirmation link older than the unsubscription does not bring the follow back.
    left = follow.unsubscribed_at
    if left is not None and follow.confirmed_at is not None and left > follow.confirmed_at:
        raise FollowError(
            _("You left this list after this link was sent. Follow again to come back.")
        )
    if follow.confirmed_at is None:
        follow.confirmed_at = timezone.now()
        follow.save(update_fields=["confirmed_at"])
        _follower_event(follow)
    return follow


def _follower_event(follow: Follow) -> None:
    assert follow.confirmed_at is not None
    seller_event(
        type="follower.created",
        seller_id=follow.seller_id,
        key=f"follow:{follow.pk}:{int(follow.confirmed_at.timestamp())}",
        follow_id=follow.pk,
    )


@transaction.atomic
def follow_unsubscribe(*, token: str) -> Follow:
    follow = _follow_from(token, salt=UNSUBSCRIBE_SALT, max_age=None)
    follow = Follow.objects.select_for_update().select_related("seller").get(pk=follow.pk)
    if follow.unsubscribed_at is None:
        follow.unsubscribed_at = timezone.now()
        follow.save(update_fields=["unsubscribed_at"])
    return follow


def followers_count(*, seller: Seller) -> int:
    """Confirmed followers still following."""
    return Follow.objects.filter(
        seller=seller, confirmed_at__isnull=False, unsubscribed_at__isnull=True
    ).count()


# --- Mails ------------------------------------------------------------------------


def _url(name: str, **kwargs: str) -> str:
    return str(settings.SITE_URL).rstrip("/") + reverse(name, kwargs=kwargs)


@mail_task
def send_follow_confirmation(*, follow_id: int) -> None:
    follow = Follow.objects.select_related("seller").filter(pk=follow_id).first()
    if follow is None or follow.active:
        return
    with translation.override(language_or_default(follow.language)):
        _confirmation_send(follow)


def _confirmation_send(follow: Follow) -> None:
    context = {
        "seller": follow.seller,
        "url": _url("follows:confirm", token=confirm_token(follow)),
        "store_name": settings.STORE_NAME,
    }
    EmailMessage(
        subject=_("Confirm that you want news from %(seller)s")
        % {"seller": follow.seller.display_name},
        body=render_to_string("follows/email/confirm.txt", context),
        to=[follow.email],
    ).send()


def release_published(*, product: Product) -> None:
    """Call when a product becomes published: its followers are mailed after the commit."""
    product_id = product.pk
    transaction.on_commit(lambda: release_announce.enqueue(product_id=product_id))


@task()
def release_announce(*, product_id: int) -> None:
    """Make one ReleaseMail per confirmed follower, and enqueue a mail for each one made now."""
    product = Product.objects.filter(pk=product_id, status=Product.Status.PUBLISHED).first()
    if product is None:
        return
    followers = Follow.objects.filter(
        seller_id=product.seller_id, confirmed_at__isnull=False, unsubscribed_at__isnull=True
    ).values_list("pk", flat=True)
    for follow_id in followers.iterator():
        row, made = ReleaseMail.objects.get_or_create(follow_id=follow_id, product_id=product_id)
        if made:
            send_release_mail.enqueue(release_mail_id=row.pk)


def _claim(release_mail_id: int) -> bool:
    return bool(
        ReleaseMail.objects.filter(pk=release_mail_id, sent_at__isnull=True).update(
            sent_at=timezone.now()
        )
    )


@mail_task
def send_release_mail(*, release_mail_id: int) -> None:
    row = (
        ReleaseMail.objects.select_related("follow__seller", "product__seller")
        .filter(pk=release_mail_id)
        .first()
    )
    if row is None or not row.follow.active or row.product.status != Product.Status.PUBLISHED:
        return
    if not _claim(row.pk):
        return  # taken by another attempt: sent, or being sent
    with translation.override(language_or_default(row.follow.language)):
        _release_send(row)


def _release_send(row: ReleaseMail) -> None:
    product, follow = row.product, row.follow
    unsubscribe = _url("follows:unsubscribe", token=unsubscribe_token(follow))
    context = {
        "product": product,
        "seller": follow.seller,
        "url": str(settings.SITE_URL).rstrip("/") + product.get_absolute_url(),
        "description": markdown_plain(product.description, limit=400),
        "unsubscribe_url": unsubscribe,
        "store_name": settings.STORE_NAME,
    }
    message = EmailMessage(
        subject=_("New from %(seller)s: %(title)s")
        % {"seller": follow.seller.display_name, "title": product.title},
        body=render_to_string("follows/email/release.txt", context),
        to=[follow.email],
        headers={
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "List-Id": f"<{follow.seller.slug}.releases.{_list_host()}>",
            "Auto-Submitted": "auto-generated",
            "Precedence": "bulk",
        },
    )
    try:
        message.send()
    except TRANSIENT:
        # Give the mail back so the retry can take it.
        ReleaseMail.objects.filter(pk=row.pk).update(sent_at=None)
        raise


def _list_host() -> str:
    from urllib.parse import urlsplit

    return urlsplit(str(settings.SITE_URL)).hostname or "localhost"
