from __future__ import annotations

import ipaddress

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from delivery import access, selectors
from delivery.models import Entitlement, Library
from delivery.services import download_record, library_get_or_create, library_link_create
from delivery.serving import serve_asset

SESSION_TOKEN = "library_token"  # noqa: S105 - a session key, not a secret


def _valid_ip(candidate: str) -> str | None:
    try:
        address = ipaddress.ip_address(candidate.strip())
    except ValueError:
        return None
    # A zone (fe80::1%eth0) means nothing off this host, and PostgreSQL's inet refuses it.
    return str(address).split("%", 1)[0]


def _client_ip(request: HttpRequest) -> str | None:
    """The buyer's address: the connection's own, or, behind
    ``TRUSTED_PROXY_COUNT`` proxies, the one the outermost proxy saw."""
    hops = settings.TRUSTED_PROXY_COUNT
    if hops > 0:
        # Each proxy appends what it saw; entries further left are client input.
        forwarded = [
            p for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if p.strip()
        ]
        if len(forwarded) >= hops:
            return _valid_ip(forwarded[-hops])
    return _valid_ip(request.META.get("REMOTE_ADDR", ""))


def _user_id(request: HttpRequest) -> int:
    user_id = request.user.pk
    assert user_id is not None, "only behind login_required"
    return int(user_id)


def _render_library(request: HttpRequest, library: Library, *, token: str | None) -> HttpResponse:
    entitlements = selectors.library_entitlements(library=library)
    return render(
        request,
        "delivery/library.html",
        {"library": library, "entitlements": entitlements, "token": token},
    )


def library(request: HttpRequest, token: str) -> HttpResponse:
    link = selectors.library_link_lookup(token=token)
    if link is None:
        return render(request, "delivery/link_invalid.html", status=404)
    now = timezone.now()
    if link.last_used_at is None or (now - link.last_used_at).total_seconds() > 300:
        type(link).objects.filter(pk=link.pk).update(last_used_at=now)
    request.session[SESSION_TOKEN] = token
    return _render_library(request, link.library, token=token)


@login_required
def library_account(request: HttpRequest) -> HttpResponse:
    found = Library.objects.filter(user_id=_user_id(request)).first()
    if found is None:
        return render(request, "delivery/library_empty.html")
    return _render_library(request, found, token=None)


def _mint_and_redirect(
    entitlement: Entitlement | None, asset_id: int, request: HttpRequest
) -> HttpResponse:
    if entitlement is None:
        raise Http404("No such purchase.")
    try:
        asset = access.access_entitlement_asset(entitlement=entitlement, asset_id=asset_id)
    except access.AccessDenied as exc:
        return _refusal(request, exc)
    signed = access.file_link_mint(entitlement=entitlement, asset=asset)
    return redirect("delivery:download", signed=signed)


def file_get(request: HttpRequest, token: str, entitlement: int, asset: int) -> HttpResponse:
    """A click on a file in a library reached by link: mint a short-lived file link."""
    link = selectors.library_link_lookup(token=token)
    if link is None:
        return render(request, "delivery/link_invalid.html", status=404)
    found = Entitlement.objects.filter(pk=entitlement, library=link.library).first()
    return _mint_and_redirect(found, asset, request)


@login_required
def account_file_get(request: HttpRequest, entitlement: int, asset: int) -> HttpResponse:
    found = Entitlement.objects.filter(pk=entitlement, library__user_id=_user_id(request)).first()
    return _mint_and_redirect(found, asset, request)


def _library_url(request: HttpRequest) -> str | None:
    """The way back to this browser's library: its library link, or the account."""
    token = request.session.get(SESSION_TOKEN)
    if token and selectors.library_link_lookup(token=token) is not None:
        return reverse("delivery:library", kwargs={"token": token})
    if request.user.is_authenticated:
        return reverse("delivery:library_account")
    return None


def _fresh_link_url(request: HttpRequest, expired: access.LinkExpired) -> str | None:
    """One click to a fresh file link, for the browser that holds the library.

    A copied link opened anywhere else gets no such shortcut: only the
    library link in this session, or the signed-in owner, can mint again.
    """
    ids = (expired.entitlement_id, expired.asset_id)
    token = request.session.get(SESSION_TOKEN)
    link = selectors.library_link_lookup(token=token) if token else None
    if link is not None and Entitlement.objects.filter(pk=ids[0], library=link.library).exists():
        return reverse("delivery:file", args=[token, *ids])
    if (
        request.user.is_authenticated
        and Entitlement.objects.filter(pk=ids[0], library__user_id=request.user.pk).exists()
    ):
        return reverse("delivery:account_file", args=ids)
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


@require_http_methods(["GET", "HEAD"])
def download(request: HttpRequest, signed: str) -> HttpResponseBase:
    try:
        granted = access.access_file_link(signed)
    except access.AccessDenied as exc:
        return _refusal(request, exc)
    if request.method == "GET":
        download_record(
            entitlement=granted.entitlement,
            asset=granted.asset,
            ip=_client_ip(request),
            user_agent=request.headers.get("User-Agent", ""),
            range_header=request.headers.get("Range", ""),
        )
    return serve_asset(request, granted.asset)


def open_library_for_email(request: HttpRequest, email: str) -> HttpResponse:
    """Send this browser into the library of ``email``, reusing its link if it has one."""
    library_found = library_get_or_create(email=email)
    token = request.session.get(SESSION_TOKEN)
    link = selectors.library_link_lookup(token=token) if token else None
    if link is None or link.library_id != library_found.pk:
        token = library_link_create(library=library_found)
    return redirect("delivery:library", token=token)


def _rate_limited(key: str, limit: int, seconds: int) -> bool:
    cache.add(key, 0, seconds)
    try:
        count = cache.incr(key)
    except ValueError:
        cache.set(key, 1, seconds)
        count = 1
    return count > limit


@require_http_methods(["GET", "POST"])
def library_request(request: HttpRequest) -> HttpResponse:
    """Lost the library link? Enter the email; the answer never says whether it bought."""
    if request.method == "GET":
        return render(request, "delivery/library_request.html", {})
    email = request.POST.get("email", "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        return render(
            request,
            "delivery/library_request.html",
            {"error": "Enter a valid email address, like name@example.com.", "email": email},
            status=400,
        )
    if _rate_limited(f"library-request:ip:{_client_ip(request)}", 10, 3600) or _rate_limited(
        f"library-request:email:{email}", 3, 3600
    ):
        return render(
            request,
            "delivery/library_request.html",
            {"error": "Too many requests. Please try again in an hour.", "email": email},
            status=429,
        )
    found = Library.objects.filter(email__iexact=email, entitlements__isnull=False).first()
    if found is not None:
        token = library_link_create(library=found)
        url = settings.SITE_URL + reverse("delivery:library", kwargs={"token": token})
        send_mail(
            subject=f"Your {settings.STORE_NAME} library",
            message=render_to_string("delivery/email/library_link.txt", {"url": url}),
            from_email=None,
            recipient_list=[found.email],
        )
    return render(request, "delivery/library_request_sent.html", {"email": email})
