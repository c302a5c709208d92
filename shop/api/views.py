"""The tokens page under ``/sell/api/``: make, list and revoke personal API tokens."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods, require_POST

from catalog.access import request_seller, seller_required
from shop.api.access import access_token_for_seller
from shop.api.forms import TokenForm
from shop.api.models import ApiToken
from shop.api.scopes import SCOPES
from shop.api.services import TokenError, api_token_create, api_token_revoke


@seller_required
@require_http_methods(["GET", "POST"])
def tokens(request: HttpRequest) -> HttpResponse:
    seller = request_seller(request)
    form = TokenForm(request.POST or None)
    secret = ""
    created = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                created, secret = api_token_create(
                    seller=seller,
                    name=form.cleaned_data["name"],
                    scopes=form.cleaned_data["scopes"],
                    expires_at=form.expires_at(),
                )
            except TokenError as exc:
                form.add_error(exc.field, exc.message)
            else:
                form = TokenForm()
        if not form.is_valid() and not secret:
            status = 400
    rows = ApiToken.objects.filter(seller=seller)
    response = render(
        request,
        "api/tokens.html",
        {
            "seller": seller,
            "form": form,
            "created": created,
            "secret": secret,
            "tokens": rows,
            "scope_labels": SCOPES,
        },
        status=status,
    )
    # The secret is on this page once: never kept by a cache or a back button.
    response["Cache-Control"] = "private, no-store"
    return response


@seller_required
@require_POST
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    token = access_token_for_seller(request, token_id)
    api_token_revoke(token=token)
    messages.success(
        request,
        gettext("“%(name)s” is revoked: requests with it are now refused.") % {"name": token.name},
    )
    return redirect("api:tokens")
