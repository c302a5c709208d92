from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from catalog.accounts import email_normalize
from catalog.headers import bearer_token_page
from catalog.l10n import current_language
from catalog.limits import Limited, client_ip, limited_response, mail_limit
from catalog.models import Asset
from delivery import access, selectors
from delivery.models import Entitlement, Library
from delivery.services import Logged, download_record
from delivery.serving import serve_asset
from delivery.tasks import send_library_link

SESSION_TOKEN = "library_token"  # noqa: S105 - a session key, not a secret


def _client_ip(request: HttpRequest) -> str | None:
    return client_ip(request)


def _user_id(request: HttpRequest) -> int:
    user_id = request.user.pk
    assert user_id is not None, "only behind login_required"
    return int(user_id)


FileUrl = Callable[[Entitlement, Asset], str]


def purchases_with_links(*, holder: access.Holder, file_url: FileUrl) -> list[Entitlement]:
    """The holder's purchases, each paid file given the ``download_url`` its page links to."""
    entitlements = list(selectors.holder_entitlements(holder=holder))
    for entitlement in entitlements:
        for asset in entitlement.product.files:  # type: ignore[attr-defined]
            asset.download_url = file_url(entitlement, asset)
    return entitlements


def _library_file_url(holder: access.Holder) -> FileUrl:
    if holder.token:
        token = holder.token
        return lambda ent, asset: reverse("delivery:file", args=[token, ent.pk, asset.pk])
    return lambda ent, asset: reverse("delivery:account_file", args=[ent.pk, asset.pk])


def _render_library(request: HttpRequest, library: Library, holder: access.Holder) -> HttpResponse:
    entitlements = purchases_with_links(holder=holder, file_url=_library_file_url(holder))
    return render(
        request,
        "delivery/library.html",
        {"library": library, "entitlements": entitlements, "token": holder.token},
    )


@bearer_token_page
def library(request: HttpRequest, token: str) -> HttpResponse:
    try:
        link = access.access_library_link(token=token)
    except access.LinkInvalid:
        return render(request, "delivery/link_invalid.html", status=404)
    now = timezone.now()
    if link.last_used_at is None or (now - link.last_used_at).total_seconds() > 300:
        type(link).objects.filter(pk=link.pk).update(last_used_at=now)
    request.session[SESSION_TOKEN] = token
    return _render_library(request, link.library, access.holder_for_link(link, token=token))


@login_required
def library_account(request: HttpRequest) -> HttpResponse:
    holder = access.holder_for_account(request.user)
    found = Library.objects.filter(user_id=_user_id(request)).first()
    if found is None or holder is None:
        return render(request, "delivery/library_empty.html")
    return _render_library(request, found, holder)


def file_link_redirect(
    request: HttpRequest, *, holder: access.Holder | None, entitlement_id: int, asset_id: int
) -> HttpResponse:
    """A click on a file: mint a short-lived file link if the holder owns the purchase."""
    if holder is None:
        raise Http404("No such purchase.")
    try:
        entitlement = access.access_entitlement(holder=holder, entitlement_id=entitlement_id)
        asset = access.access_entitlement_asset(entitlement=entitlement, asset_id=asset_id)
    except access.LinkInvalid:
        raise Http404("No such purchase.") from None
    except access.AccessDenied as exc:
        return _refusal(request, exc)
    signed = access.file_link_mint(entitlement=entitlement, asset=asset)
    return redirect("delivery:download", signed=signed)


@bearer_token_page
def file_get(request: HttpRequest, token: str, entitlement: int, asset: int) -> HttpResponse:
    """A click on a file in a library reached by link."""
    try:
        link = access.access_library_link(token=token)
    except access.LinkInvalid:
        return render(request, "delivery/link_invalid.html", status=404)
    holder = access.holder_for_link(link, token=token)
    return file_link_redirect(request, holder=holder, entitlement_id=entitlement, asset_id=asset)


@bearer_token_page
@login_required
def account_file_get(request: HttpRequest, entitlement: int, asset: int) -> HttpResponse:
    holder = access.holder_for_account(request.user)
    return file_link_redirect(request, holder=holder, entitlement_id=entitlement, asset_id=asset)


def _session_holder(request: HttpRequest) -> access.Holder | None:
    """The library link this browser opened last, if it still works."""
    token = str(request.session.get(SESSION_TOKEN, ""))
    try:
        link = access.access_library_link(token=token)
    except access.LinkInvalid:
        return None
    return access.holder_for_link(link, token=token)


def _library_url(request: HttpRequest) -> str | None:
    """The way back to this browser's library: its library link, or the account."""
    holder = _session_holder(request)
    if holder is not None:
        return reverse("delivery:library", kwargs={"token": holder.token})
    if request.user.is_authenticated:
        return reverse("delivery:library_account")
    return None


def _fresh_link_url(request: HttpRequest, expired: access.LinkExpired) -> str | None:
    """One click to a fresh file link, for the browser that holds the library.

    A copied link opened anywhere else gets no such shortcut: only the
    library link in this session, or the signed-in owner, can mint again.
    """
    ids = (expired.entitlement_id, expired.asset_id)
    for holder, url_name in (
        (_session_holder(request), "delivery:file"),
        (access.holder_for_account(request.user), "delivery:account_file"),
    ):
        if holder is None:
            continue
        try:
            access.access_entitlement(holder=holder, entitlement_id=ids[0])
        except access.LinkInvalid:
            continue
        args = [holder.token, *ids] if holder.token else list(ids)
        return reverse(url_name, args=args)
    return None


def _refusal(request: HttpRequest, exc: access.AccessDenied) -> HttpResponse:
    if isinstance(exc, access.LinkInvalid):
        raise Http404("No such file.")
    entitlement = getattr(exc, "entitlement", None)
    context = {
        "error": exc,
        "expired": isinstance(exc, access.LinkExpired),
        "revoked": isinstance(exc, access.EntitlementRevoked),
        "limit": isinstance(exc, access.LimitReached),
        "entitlement": entitlement,
        "product": entitlement.product if entitlement is not None else None,
        "library_url": _library_url(request),
        "fresh_url": (
            _fresh_link_url(request, exc) if isinstance(exc, access.LinkExpired) else None
        ),
        "window_minutes": settings.DOWNLOAD_WINDOW_SECONDS // 60,
    }
    return render(request, "delivery/refused.html", context, status=exc.status)


@bearer_token_page
@require_http_methods(["GET", "HEAD"])
def download(request: HttpRequest, signed: str) -> HttpResponseBase:
    try:
        granted = access.access_file_link(signed)
    except access.AccessDenied as exc:
        return _refusal(request, exc)
    if request.method == "GET":
        logged = download_record(
            entitlement=granted.entitlement,
            asset=granted.asset,
            ip=_client_ip(request),
            user_agent=request.headers.get("User-Agent", ""),
            range_header=request.headers.get("Range", ""),
            now=granted.at,
        )
        if logged.outcome is Logged.REFUSED:
            # The last download of the limit went to a parallel request since the gate looked.
            return _refusal(request, access.limit_reached(granted.entitlement))
    return serve_asset(request, granted.asset)


@require_http_methods(["GET", "POST"])
def library_request(request: HttpRequest) -> HttpResponse:
    """Lost the library link? Enter the email; the answer never says whether it bought."""
    if request.method == "GET":
        return render(request, "delivery/library_request.html", {})
    email = email_normalize(request.POST.get("email", ""))
    try:
        validate_email(email)
    except ValidationError:
        return render(
            request,
            "delivery/library_request.html",
            {"error": "Enter a valid email address, like name@example.com.", "email": email},
            status=400,
        )
    try:
        # Counted whether or not the address bought: the answer must not say.
        mail_limit(request=request, recipients=[email])
    except Limited as exc:
        return limited_response(
            request, exc, template="delivery/library_request.html", context={"email": email}
        )
    found = Library.objects.filter(email__iexact=email, entitlements__isnull=False).first()
    if found is not None:
        library_id = found.pk
        language = current_language()
        transaction.on_commit(
            lambda: send_library_link.enqueue(library_id=library_id, language=language)
        )
    return render(request, "delivery/library_request_sent.html", {"email": email})
