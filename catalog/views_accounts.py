"""Logging in and resetting a password: Django's own views, behind the limiter.

Every form that checks a password (this site's login and the admin's) counts
the attempt in ``catalog.limits`` before the password is looked at; the
password-reset form counts its mail like every other mail a visitor triggers.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext

from catalog.limits import Limited, limited_response, login_limit, login_succeeded, mail_limit


class LimitedLoginMixin:
    """Refuses every attempt, right password or not, while the identifier or the client
    is over its limit; a right password gives back the attempt it counted."""

    request: Any
    data: Any
    limited: Limited | None = None

    def clean(self) -> dict[str, Any]:
        identifier = str(self.data.get("username", ""))
        if self.request is not None:
            try:
                login_limit(request=self.request, identifier=identifier)
            except Limited as exc:
                self.limited = exc
                raise ValidationError(
                    gettext("%(message)s Please try again %(wait)s.")
                    % {"message": exc.message, "wait": exc.wait},
                    code="limited",
                ) from None
        cleaned: dict[str, Any] = super().clean()  # type: ignore[misc]
        if self.request is not None:
            login_succeeded(request=self.request, identifier=identifier)
        return cleaned


class LimitedAuthenticationForm(LimitedLoginMixin, AuthenticationForm):
    pass


class LimitedAdminAuthenticationForm(LimitedLoginMixin, AdminAuthenticationForm):
    pass


def admin_login(request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
    """The admin's own login, answering 429 with ``Retry-After`` while the limiter pauses it
    (the admin's page and form, with the limiter's message among the form's errors)."""
    response = admin.site.login(request, extra_context)
    form = (getattr(response, "context_data", None) or {}).get("form")
    limited = getattr(form, "limited", None)
    if limited is not None:
        response.status_code = 429
        response["Retry-After"] = str(limited.retry_after)
    return response


class LoginView(auth_views.LoginView):
    authentication_form = LimitedAuthenticationForm

    def form_invalid(self, form: AuthenticationForm) -> HttpResponse:
        limited = getattr(form, "limited", None)
        if limited is not None:
            return limited_response(
                self.request,
                limited,
                template=str(self.template_name),
                context=self.get_context_data(form=form),
            )
        return super().form_invalid(form)


class PasswordResetView(auth_views.PasswordResetView):
    def form_valid(self, form: PasswordResetForm) -> HttpResponse:
        # Counted whether or not an account uses the address: the answer must not say.
        try:
            mail_limit(request=self.request, recipients=[form.cleaned_data["email"]])
        except Limited as exc:
            return limited_response(
                self.request,
                exc,
                template=str(self.template_name),
                context=self.get_context_data(form=form),
            )
        return super().form_valid(form)
