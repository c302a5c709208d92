from __future__ import annotations

import logging
import zipfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from catalog.accounts import email_normalize
from catalog.headers import bearer_token_page
from catalog.l10n import current_language
from catalog.limits import Limited, client_ip, limited_response, mail_limit
from catalog.models import Asset
from catalog.paging import page_of
from delivery import access, bundles, reader, selectors
from delivery.formats.models import Rendition, StreamStart, ZipBuild
from delivery.formats.services import (
    FormatUnavailable,
    formats_offered,
    preset_check,
    rendition_request,
    wants_stamp,
)
from delivery.formats.views import (
    ORIGINAL,
    POLL_SECONDS,
    STAMPED,
    format_response,
    rendition_served,
    stamped_response,
    stamped_served,
)
from delivery.models import Entitlement, Library
from delivery.samples import library_samples
from delivery.services import Logged, download_record, ip_network
from delivery.serving import serve, serve_asset, serve_inline
from delivery.tasks import send_library_link

log = logging.getLogger(__name__)

SESSION_TOKEN = "library_token"  # noqa: S105 - a session key, not a secret


def _client_ip(request: HttpRequest) -> str | None:
    return client_ip(request)


def _user_id(request: HttpRequest) -> int:
    user_id = request.user.pk
    assert user_id is not None, "only behind login_required"
    return int(user_id)


FileUrl = Callable[[Entitlement, Asset], str]


def purchases_with_links(*, holder: access.Holder, file_url: FileUrl) -> list[Entitlement]:
    """The holder's purchases, each paid file given the ``download_url`` its page
    links to and the ``formats`` it can also be had in."""
    entitlements = list(selectors.holder_entitlements(holder=holder))
    for entitlement in entitlements:
        offered = entitlement.product.audio_formats
        bundle_formats: dict[str, object] = {}
        for asset in entitlement.product.files:  # type: ignore[attr-defined]
            asset.download_url = file_url(entitlement, asset)
            asset.formats = formats_offered(asset=asset, product_formats=offered)
            bundle_formats.update((preset.key, preset) for preset in asset.formats)
        entitlement.bundle_formats = list(bundle_formats.values())  # type: ignore[attr-defined]
        entitlement.tracks = []  # type: ignore[attr-defined]
        if entitlement.is_active:
            for asset in entitlement.product.files:  # type: ignore[attr-defined]
                asset.opens = _opens(asset)
                if asset.opens:
                    asset.stream_url = reverse(
                        "delivery:read" if asset.opens == "epub" else "delivery:stream",
                        args=[access.stream_link_mint(entitlement=entitlement, asset=asset)],
                    )
                if asset.opens == "audio":
                    entitlement.tracks.append(asset)  # type: ignore[attr-defined]
    return entitlements


# What the browser shows itself: <audio>, <video>, its PDF viewer.
PLAYABLE_AUDIO = frozenset(
    {"audio/mpeg", "audio/flac", "audio/wav", "audio/ogg", "audio/ogg; codecs=opus", "audio/mp4"}
)
PLAYABLE_VIDEO = frozenset({"video/mp4", "video/webm"})


def _opens(asset: Asset) -> str:
    """How the library opens a file in the page: "audio", "video", "pdf", "epub" or ""."""
    if asset.mime_type in PLAYABLE_AUDIO and (asset.metadata or {}).get("codec") != "alac":
        return "audio"
    if asset.mime_type in PLAYABLE_VIDEO:
        return "video"
    if asset.mime_type == "application/epub+zip":
        return "epub"  # no browser shows one: our reader does (delivery/reader.py)
    return "pdf" if asset.mime_type == "application/pdf" else ""


@bearer_token_page
@require_http_methods(["GET", "HEAD"])
def stream(request: HttpRequest, signed: str) -> HttpResponseBase:
    """A player's request (or a PDF opened): through the gate, counted as a stream."""
    try:
        granted = access.access_stream_link(signed)
    except access.AccessDenied as exc:
        return _refusal(request, exc)
    if _opens(granted.asset) not in ("audio", "video", "pdf"):
        raise Http404("No such file.")
    range_header = request.headers.get("Range", "")
    if request.method == "GET" and (not range_header or range_header.startswith("bytes=0-")):
        StreamStart.objects.create(
            entitlement=granted.entitlement,
            asset=granted.asset,
            at=granted.at,
            network=ip_network(_client_ip(request)),
        )
    return serve_inline(request, granted.asset)


def _epub_granted(request: HttpRequest, signed: str) -> access.FileAccess:
    try:
        granted = access.access_stream_link(signed)
    except access.AccessDenied as exc:
        raise Http404("No such file.") from exc
    if _opens(granted.asset) != "epub":
        raise Http404("No such file.")
    return granted


@contextmanager
def _opened_book(asset: Asset) -> Iterator[tuple[zipfile.ZipFile, reader.Book]]:
    with asset.file.open("rb") as raw, zipfile.ZipFile(raw) as archive:
        yield archive, reader.book_read(archive, asset.original_filename)


@bearer_token_page
@require_GET
def read(request: HttpRequest, signed: str) -> HttpResponse:
    """A purchased EPUB, one page of its reading order at a time (``?page=``)."""
    granted = _epub_granted(request, signed)
    asset = granted.asset
    typed = request.GET.get("page")
    number_error = ""
    context: dict[str, object] = {"asset": asset, "product": granted.entitlement.product}
    try:
        with _opened_book(asset) as (archive, book):
            page, number_error = page_of(book.chapters, 1, typed)
            number = page.number
            here = reverse("delivery:read", args=[signed])
            context.update(
                book=book,
                number=number,
                chapter=book.chapters[number - 1],
                body=mark_safe(
                    reader.chapter_html(
                        archive,
                        book,
                        number,
                        page_url=f"{here}?page=%s",
                        image_url=reverse("delivery:read_image", args=[signed, "PATH"]).replace(
                            "PATH", "%s"
                        ),
                    )
                ),
                previous_url=f"{here}?page={number - 1}" if number > 1 else "",
                next_url=f"{here}?page={number + 1}" if number < len(book.chapters) else "",
                page_url=f"{here}?page=",
                page_error=number_error,
            )
    except (reader.MediaRefused, zipfile.BadZipFile, OSError, KeyError, EOFError) as exc:
        log.warning("EPUB %s cannot be read in the browser: %s", asset.pk, exc)
        return render(request, "delivery/reader.html", {**context, "broken": True}, status=422)
    if typed is None:  # the book opened: one stream, as a player's first request
        StreamStart.objects.create(
            entitlement=granted.entitlement,
            asset=asset,
            at=granted.at,
            network=ip_network(_client_ip(request)),
        )
    return render(request, "delivery/reader.html", context, status=400 if number_error else 200)


@bearer_token_page
@require_GET
def read_image(request: HttpRequest, signed: str, path: str) -> HttpResponse:
    """An image of a book being read, from inside the book, through the same link."""
    granted = _epub_granted(request, signed)
    try:
        with _opened_book(granted.asset) as (archive, book):
            data, media_type = reader.image_read(archive, book, path)
    except (reader.MediaRefused, zipfile.BadZipFile, OSError, KeyError, EOFError):
        raise Http404("No such image in this book.") from None
    response = HttpResponse(data, content_type=media_type)
    return response


def _library_file_url(holder: access.Holder) -> FileUrl:
    if holder.token:
        token = holder.token
        return lambda ent, asset: reverse("delivery:file", args=[token, ent.pk, asset.pk])
    return lambda ent, asset: reverse("delivery:account_file", args=[ent.pk, asset.pk])


def _bundle_url(holder: access.Holder, entitlement: Entitlement) -> str:
    if holder.token:
        return reverse("delivery:bundle", args=[holder.token, entitlement.pk])
    return reverse("delivery:account_bundle", args=[entitlement.pk])


def _render_library(request: HttpRequest, library: Library, holder: access.Holder) -> HttpResponse:
    entitlements = purchases_with_links(holder=holder, file_url=_library_file_url(holder))
    for entitlement in entitlements:
        entitlement.bundle_url = _bundle_url(holder, entitlement)  # type: ignore[attr-defined]
    return render(
        request,
        "delivery/library.html",
        {
            "library": library,
            "entitlements": entitlements,
            "samples": library_samples(holder=holder),
            "token": holder.token,
        },
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
    key = request.GET.get("format", ORIGINAL)
    if key and key != ORIGINAL:
        return format_response(request, entitlement=entitlement, asset=asset, key=key[:20])
    if wants_stamp(stamp_ebooks=entitlement.product.stamp_ebooks, asset=asset):
        return stamped_response(request, entitlement=entitlement, asset=asset)
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
    ip = _client_ip(request)
    try:
        granted = access.access_file_link(signed, network=ip_network(ip))
    except access.AccessDenied as exc:
        return _refusal(request, exc)
    served = None
    if granted.preset == STAMPED:
        served = stamped_served(entitlement=granted.entitlement, asset=granted.asset)
        if served is None:
            raise Http404("No such file.")
    elif granted.preset is not None:
        served = rendition_served(asset=granted.asset, key=granted.preset)
        if served is None:
            raise Http404("No such file.")
    # A resume the log already covers writes nothing (the gate's read said so).
    if (
        request.method == "GET"
        and not granted.covered
        and not _recorded(request, granted.entitlement, [granted.asset], granted.at, ip=ip)
    ):
        # The last download of the limit went to a parallel request since the gate looked.
        return _refusal(request, access.limit_reached(granted.entitlement))
    if served is not None:
        return serve(request, served)
    return serve_asset(request, granted.asset)


def _recorded(
    request: HttpRequest,
    entitlement: Entitlement,
    assets: Iterable[Asset],
    at: datetime,
    *,
    ip: str | None = None,
) -> bool:
    """Log the download of each file; False if one was refused (its limit just reached)."""
    meta = request.META
    ip = ip if ip is not None else _client_ip(request)
    for asset in assets:
        logged = download_record(
            entitlement=entitlement,
            asset=asset,
            ip=ip,
            user_agent=meta.get("HTTP_USER_AGENT", ""),
            range_header=meta.get("HTTP_RANGE", ""),
            now=at,
        )
        if logged.outcome is Logged.REFUSED:
            return False
    return True


def bundle_redirect(
    request: HttpRequest, *, holder: access.Holder | None, entitlement_id: int
) -> HttpResponse:
    """ "Download all": when every file is ready in the chosen format (and, where
    the backend needs it, the ZIP is stored), a short-lived ZIP link."""
    if holder is None:
        raise Http404("No such purchase.")
    try:
        entitlement = access.access_entitlement(holder=holder, entitlement_id=entitlement_id)
        access.access_zip_ready(entitlement=entitlement)
    except access.LinkInvalid:
        raise Http404("No such purchase.") from None
    except access.AccessDenied as exc:
        return _refusal(request, exc)
    product = entitlement.product
    key = request.GET.get("format", ORIGINAL)[:20] or ORIGINAL
    preset = None
    waiting: list[Rendition] = []
    if key != ORIGINAL:
        assets = list(product.assets.filter(role="deliverable").order_by("position", "id"))
        lossless = [a for a in assets if formats_offered(asset=a, product_formats=[key])]
        try:
            if not lossless:
                raise FormatUnavailable(_("This product has no file offered in that format."))
            for asset in lossless:
                preset = preset_check(asset=asset, product_formats=product.audio_formats, key=key)
        except FormatUnavailable as exc:
            refused = {"message": exc.message, "asset": None, "product": product}
            return render(request, "delivery/formats/unavailable.html", refused, status=404)
        assert preset is not None
        for asset in lossless:
            rendition = rendition_request(asset=asset, preset=preset, entitlement=entitlement)
            if not rendition.is_ready:
                waiting.append(rendition)
    build = None
    if not waiting and not bundles.streams_as_built():
        entries = bundles.bundle_entries(product=product, preset=preset.key if preset else None)
        build = bundles.zip_build_request(
            product=product, preset=preset.key if preset else None, entries=entries
        )
    if waiting or (build is not None and not build.is_ready):
        failed = [r for r in waiting if r.status == Rendition.Status.FAILED]
        done = sum(r.progress for r in waiting)
        files = len(waiting) or 1
        context: dict[str, object] = {
            "product": product,
            "preset": preset,
            "failed": failed or (build is not None and build.status == ZipBuild.Status.FAILED),
            "error": failed[0].error if failed else (build.error if build else ""),
            "progress": done // files if waiting else 0,
            "waiting": len(waiting),
            "building": not waiting,
            "poll_seconds": POLL_SECONDS,
            "original_url": request.path,
        }
        response = render(request, "delivery/bundle_preparing.html", context)
        response["Cache-Control"] = "no-store"
        return response
    signed = access.zip_link_mint(entitlement=entitlement, preset=preset.key if preset else None)
    return redirect("delivery:download_zip", signed=signed)


@bearer_token_page
def bundle_get(request: HttpRequest, token: str, entitlement: int) -> HttpResponse:
    try:
        link = access.access_library_link(token=token)
    except access.LinkInvalid:
        return render(request, "delivery/link_invalid.html", status=404)
    holder = access.holder_for_link(link, token=token)
    return bundle_redirect(request, holder=holder, entitlement_id=entitlement)


@bearer_token_page
@login_required
def account_bundle_get(request: HttpRequest, entitlement: int) -> HttpResponse:
    holder = access.holder_for_account(request.user)
    return bundle_redirect(request, holder=holder, entitlement_id=entitlement)


@bearer_token_page
@require_http_methods(["GET", "HEAD"])
def download_zip(request: HttpRequest, signed: str) -> HttpResponseBase:
    """The whole product as one ZIP: each file counted once, like a download of it."""
    try:
        granted = access.access_zip_link(signed)
        entries = bundles.bundle_entries(product=granted.entitlement.product, preset=granted.preset)
    except bundles.BundleNotReady:
        raise Http404("No such file.") from None
    except access.AccessDenied as exc:
        return _refusal(request, exc)
    filename = bundles.zip_filename(granted.entitlement.product)
    served = None
    build = ZipBuild.objects.filter(key=bundles.bundle_key(entries)).first()
    if build is not None and build.is_ready:
        # Built once already: sent like any stored file (sendfile, x-accel, a presigned URL).
        served = bundles.zip_served(build, filename=filename)
    elif not bundles.streams_as_built():
        raise Http404("No such file.")
    if request.method == "GET" and not _recorded(
        request, granted.entitlement, granted.assets, granted.at
    ):
        return _refusal(request, access.limit_reached(granted.entitlement))
    if served is not None:
        return serve(request, served)
    return bundles.stream_zip(request, entries=entries, filename=filename)


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
