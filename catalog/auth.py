"""Logging in with an email address as well as a username."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import User
from django.http import HttpRequest


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
            matches = list(get_user_model().objects.filter(email__iexact=username.strip())[:2])
            if len(matches) == 1:
                user = matches[0]
                if user.check_password(password) and self.user_can_authenticate(user):
                    return user
                return None
            if len(matches) > 1:
                return None
        return super().authenticate(request, username=username, password=password, **kwargs)
