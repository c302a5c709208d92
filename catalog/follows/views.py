"""Thin views: ask to follow, confirm by the mailed link, leave in one click."""

from __future__ import annotations

from collections.abc import Callable

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from catalog import selectors
from catalog.follows.models import Follow
from catalog.follows.services import (
    FollowError,
    follow_confirm,
    follow_email_check,
    follow_peek,
    follow_request,
    follow_unsubscribe,
    send_follow_confirmation,
)
from catalog.headers import bearer_token_page
from catalog.limits import Limited, follow_limit, limited_response, mail_limit


@require_http_methods(["GET", "POST"])
def follow(request: HttpRequest, seller: str) -> HttpResponse:
    found = selectors.seller_public(slug=seller)
    if found is None:
        raise Http404(_("No such seller."))
    account_email = getattr(request.user, "email", "") if request.user.is_authenticated else ""
    typed = request.POST.get("email", "") if request.method == "POST" else ""
    context: dict[str, object] = {"seller": found, "email": typed, "account_email": account_email}
    if request.method == "GET":
        return render(request, "follows/follow.html", context)
    email = typed or account_email
    try:
        follow_limit(request=request)
        email = follow_email_check(email)
        # Counted whatever the address's state, so the limit says nothing about it either.
        mail_limit(request=request, recipients=[email])
    except Limited as exc:
        return limited_response(request, exc, template="follows/follow.html", context=context)
    except FollowError as exc:
        context["error"] = exc.message
        return render(request, "follows/follow.html", context, status=400)
    pending = follow_request(seller=found, email=email, user=request.user)
    if pending is not None:
        send_follow_confirmation.enqueue(follow_id=pending.pk)
    if pending is None and account_email and email == account_email.lower():
        # The signed-in owner of the address may know its state.
        context["following"] = _account_follows(found, request)
    context["email"] = email
    return render(request, "follows/follow_sent.html", context)


def _account_follows(seller: object, request: HttpRequest) -> bool:
    return Follow.objects.filter(
        seller=seller,
        user=request.user,  # type: ignore[misc]
        confirmed_at__isnull=False,
        unsubscribed_at__isnull=True,
    ).exists()


def _token_page(
    request: HttpRequest,
    token: str,
    *,
    act: Callable[..., Follow],
    unsubscribe: bool,
    page: str,
    done: str,
) -> HttpResponse:
    # A GET only shows the button: mail scanners open links, a person presses buttons.
    try:
        if request.method == "POST":
            return render(request, f"follows/{done}.html", {"follow": act(token=token)})
        found = follow_peek(token=token, unsubscribe=unsubscribe)
    except FollowError as exc:
        return render(request, "follows/link_refused.html", {"message": exc.message}, status=400)
    return render(request, f"follows/{page}.html", {"follow": found})


@bearer_token_page
@require_http_methods(["GET", "POST"])
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    return _token_page(
        request, token, act=follow_confirm, unsubscribe=False, page="confirm", done="confirmed"
    )


@csrf_exempt  # RFC 8058: mail clients POST "List-Unsubscribe=One-Click" with no token
@bearer_token_page
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    return _token_page(
        request,
        token,
        act=follow_unsubscribe,
        unsubscribe=True,
        page="unsubscribe",
        done="unsubscribed",
    )
