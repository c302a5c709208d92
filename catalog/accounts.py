"""Accounts: creating them, logging in with an email, and what counts as the same email.

The bottom layer of the catalog: it knows Django's user model and nothing of
sellers, products or libraries, so ``delivery`` (a buyer's account) and the
seller's services both create accounts here. ``settings.AUTHENTICATION_BACKENDS``
names ``EmailOrUsernameBackend``.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext

from catalog.l10n import current_language
from catalog.mail import mail_task


class AccountError(Exception):
    """A refusal a person can act on; ``field`` names the form field it concerns."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def email_normalize(email: str) -> str:
    """The one spelling of an address that is stored and compared: trimmed, lower case."""
    return email.strip().lower()


def users_with_email(email: str) -> QuerySet[User]:
    """Accounts using ``email``, whatever its case (admin-made accounts may differ)."""
    return get_user_model().objects.filter(email__iexact=email.strip())


def _free_username(email: str) -> str:
    user_model = get_user_model()
    base = email[:140]
    candidate, n = base, 1
    while user_model.objects.filter(username=candidate).exists():
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def account_create(*, email: str, password: str) -> User:
    """A new account that logs in with its email (a buyer's, or a seller's to be)."""
    email = email_normalize(email)
    try:
        validate_email(email)
    except ValidationError:
        raise AccountError(gettext("Enter a valid email address."), field="email") from None
    if users_with_email(email).exists():
        raise AccountError(
            gettext("An account already uses this address: log in, or reset its password."),
            field="email",
        )
    user = get_user_model()(username=_free_username(email), email=email)
    try:
        password_validation.validate_password(password, user=user)
    except ValidationError as exc:
        raise AccountError(" ".join(exc.messages), field="password") from None
    user.set_password(password)
    user.save()
    return user


class EmailOrUsernameBackend(ModelBackend):
    """Sellers sign up with an email; accounts made in the admin may only have a
    username. An address matching several accounts logs none of them in."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        if username and "@" in username and password is not None:
            matches = list(users_with_email(username)[:2])
            if len(matches) == 1:
                user = matches[0]
                if user.check_password(password) and self.user_can_authenticate(user):
                    return user
                return None
            if len(matches) > 1:
                return None
        return super().authenticate(request, username=username, password=password, **kwargs)


@mail_task
def send_password_reset(*, user_id: int, email: str) -> None:
    """Mail a password reset link, the token minted here rather than kept in the queue."""
    from urllib.parse import urlsplit

    from django.conf import settings
    from django.contrib.auth.tokens import default_token_generator
    from django.core.mail import send_mail
    from django.template.loader import render_to_string
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return
    site = urlsplit(settings.SITE_URL)
    context = {
        "email": email,
        "domain": site.netloc,
        "site_name": settings.STORE_NAME,
        "uid": urlsafe_base64_encode(force_bytes(user.pk)),
        "user": user,
        "token": default_token_generator.make_token(user),
        "protocol": site.scheme or "https",
    }
    subject = "".join(render_to_string("registration/password_reset_subject.txt", context).split())
    send_mail(
        subject=subject,
        message=render_to_string("registration/password_reset_email.html", context),
        from_email=None,
        recipient_list=[email],
    )


class QueuedPasswordResetForm(PasswordResetForm):
    """Django's form, with the mail sent by a task: a mail server that is down
    delays the mail instead of answering the request with a 500."""

    def send_mail(  # type: ignore[override]
        self,
        subject_template_name: str,
        email_template_name: str,
        context: dict[str, Any],
        from_email: str | None,
        to_email: str,
        html_email_template_name: str | None = None,
    ) -> None:
        user_id, email, language = int(context["user"].pk), to_email, current_language()
        transaction.on_commit(
            lambda: send_password_reset.enqueue(user_id=user_id, email=email, language=language)
        )
