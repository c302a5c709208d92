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
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db.models import QuerySet
from django.http import HttpRequest


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
        raise AccountError("Enter a valid email address.", field="email") from None
    if users_with_email(email).exists():
        raise AccountError(
            "An account already uses this address: log in, or reset its password.",
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
