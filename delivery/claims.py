"""Claiming guest purchases into an account, by proving the email address.

A logged-in person asks to claim the purchases made with their account's
email; a link signed with the salt ``delivery.library-claim`` over
``{"u": <user id>, "e": <email>}`` is mailed to that address and is good for
three days. Opening it, logged in as the same user whose email is still the
same, links the library of that email to the account. Purchases are never
linked by an unproven email match.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.mail import send_mail
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods, require_POST

from catalog.accounts import AccountError, account_create, email_normalize
from catalog.headers import bearer_token_page
from catalog.l10n import current_language
from catalog.limits import Limited, limited_response, mail_limit
from catalog.mail import mail_task
from delivery.models import Library
from delivery.services import library_get_or_create

CLAIM_SALT = "delivery.library-claim"
CLAIM_MAX_AGE = 3 * 24 * 3600


class ClaimRefused(Exception):
    """The claim link cannot link anything; the message says why."""


def claim_token(*, user_id: int, email: str) -> str:
    return signing.dumps({"u": user_id, "e": email_normalize(email)}, salt=CLAIM_SALT)


@transaction.atomic
def library_claim(*, token: str, user_id: int, current_email: str) -> Library:
    try:
        data = signing.loads(token, salt=CLAIM_SALT, max_age=CLAIM_MAX_AGE)
    except signing.SignatureExpired:
        raise ClaimRefused(
            gettext("This link has expired. Ask for a new one from your library.")
        ) from None
    except signing.BadSignature:
        raise ClaimRefused(gettext("This link is not valid.")) from None
    if data.get("u") != user_id or data.get("e") != email_normalize(current_email):
        raise ClaimRefused(
            gettext("This link was made for another account or another email address.")
        )
    library = Library.objects.select_for_update().get(pk=library_get_or_create(email=data["e"]).pk)
    if library.user_id not in (None, user_id):
        raise ClaimRefused(gettext("These purchases already belong to another account."))
    library.user_id = user_id
    library.save(update_fields=["user"])
    return library


@mail_task
def send_claim_link(*, user_id: int, email: str) -> None:
    """Mail the signed link that joins the purchases made with ``email`` to the account."""
    token = claim_token(user_id=user_id, email=email)
    url = settings.SITE_URL + reverse("delivery:claim_finish", kwargs={"token": token})
    send_mail(
        subject=gettext("Confirm your email to see your %(store)s purchases")
        % {"store": settings.STORE_NAME},
        message=render_to_string("delivery/email/claim.txt", {"url": url}),
        from_email=None,
        recipient_list=[email],
    )


@login_required
@require_POST
def claim_start(request: HttpRequest) -> HttpResponse:
    email = email_normalize(getattr(request.user, "email", "") or "")
    if not email:
        messages.error(
            request, gettext("Your account has no email address to claim purchases with.")
        )
        return redirect("delivery:library_account")
    try:
        mail_limit(request=request, recipients=[email])
    except Limited as exc:
        return limited_response(request, exc)
    send_claim_link.enqueue(
        user_id=int(request.user.pk or 0), email=email, language=current_language()
    )
    return render(request, "delivery/claim_sent.html", {"email": email})


@bearer_token_page
@login_required
def claim_finish(request: HttpRequest, token: str) -> HttpResponse:
    try:
        library = library_claim(
            token=token,
            user_id=int(request.user.pk or 0),
            current_email=getattr(request.user, "email", "") or "",
        )
    except ClaimRefused as exc:
        return render(request, "delivery/claim_refused.html", {"message": str(exc)}, status=400)
    count = library.entitlements.count()
    messages.success(
        request,
        gettext("Purchases made with %(email)s are now in your account (%(count)s).")
        % {"email": library.email, "count": count},
    )
    return redirect("delivery:library_account")


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    """A buyer's account: log in to the library instead of keeping links.

    The address is proven by the claim link mailed at once, which also brings
    in what was bought with it as a guest.
    """
    if request.user.is_authenticated:
        return redirect("delivery:library_account")
    values = {"email": request.POST.get("email", "")}
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            # The claim link goes to the address typed: counted before the account exists,
            # so a refusal leaves nothing half made.
            mail_limit(request=request, recipients=[values["email"]])
        except Limited as exc:
            return limited_response(
                request, exc, template="registration/signup.html", context={"values": values}
            )
        try:
            user = account_create(email=values["email"], password=request.POST.get("password", ""))
        except AccountError as exc:
            errors[exc.field or "form"] = exc.message
        else:
            login(request, user, backend=settings.AUTHENTICATION_BACKENDS[0])
            send_claim_link.enqueue(
                user_id=int(user.pk), email=user.email, language=current_language()
            )
            return render(
                request, "delivery/claim_sent.html", {"email": user.email, "welcome": True}
            )
    return render(
        request,
        "registration/signup.html",
        {"values": values, "errors": errors},
        status=400 if errors else 200,
    )
