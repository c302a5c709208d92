"""The ownership gate: what a logged-in seller may see and change on the seller side.

Every seller view fetches what it works on through one of these functions and
nothing else. Each returns the object only when it belongs to the seller of
the requesting account, and otherwise raises :class:`NotOwned`, an ``Http404``:
someone else's product, file, preview, draft or upload is indistinguishable
from one that does not exist. Anonymous visitors never get here (the views
send them to the login page first).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AnonymousUser
from django.http import Http404, HttpRequest, HttpResponseBase
from django.shortcuts import redirect

from catalog.models import Asset, ImportJob, Product, Seller, UploadSession
from catalog.money import CountError, parse_count


class NotOwned(Http404):
    """Not found, as far as this seller can tell."""


class NotASeller(Exception):
    """A logged-in account without a seller profile (it may create one)."""


def access_seller(user: AbstractBaseUser | AnonymousUser) -> Seller:
    """The seller of a logged-in, active account; every other gate starts here."""
    if not user.is_authenticated or not user.is_active:
        raise NotOwned("Log in first.")
    seller = Seller.objects.select_related("user").filter(user_id=user.pk).first()
    if seller is None:
        raise NotASeller
    return seller


def request_seller(request: HttpRequest) -> Seller:
    """:func:`access_seller` for a request, asked once per request (the decorator
    asks first, the view's gates find the answer)."""
    seller = getattr(request, "_seller", None)
    if seller is None or seller.user_id != request.user.pk:
        seller = access_seller(request.user)
        request._seller = seller  # type: ignore[attr-defined]
    return seller


View = Callable[..., HttpResponseBase]


def seller_required(view: View) -> View:
    """The one decorator of every seller page, whichever app serves it: logged in
    (else the login page) and a seller (else the page that makes one)."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            request_seller(request)
        except NotASeller:
            return redirect("catalog:sell_start")
        return view(request, *args, **kwargs)

    return wrapper


def _id(value: object) -> int:
    """A usable primary key, or 0 (which matches nothing)."""
    try:
        return parse_count(value, minimum=1, maximum=2**63 - 1)
    except CountError:
        return 0


Who = AbstractBaseUser | AnonymousUser | HttpRequest


def _seller_for(who: Who) -> Seller:
    """The seller of a user, or of a request (asked once per request)."""
    return request_seller(who) if isinstance(who, HttpRequest) else access_seller(who)


def access_product_for_seller(who: Who, product_id: object) -> Product:
    seller = _seller_for(who)
    found = (
        Product.objects.select_related("seller__user")
        .filter(pk=_id(product_id), seller=seller)
        .first()
    )
    if found is None:
        raise NotOwned("No such product.")
    return found


def access_asset_for_seller(who: Who, asset_id: object) -> Asset:
    seller = _seller_for(who)
    found = (
        Asset.objects.select_related("product__seller")
        .filter(pk=_id(asset_id), product__seller=seller)
        .first()
    )
    if found is None:
        raise NotOwned("No such file.")
    return found


def access_upload_for_seller(who: Who, upload_id: object) -> UploadSession:
    seller = _seller_for(who)
    try:
        key = uuid.UUID(str(upload_id))
    except ValueError:
        raise NotOwned("No such upload.") from None
    found = (
        UploadSession.objects.select_related("product", "asset")
        .filter(pk=key, seller=seller)
        .first()
    )
    if found is None:
        raise NotOwned("No such upload.")
    return found


def access_import_for_seller(who: Who, job_id: object) -> ImportJob:
    seller = _seller_for(who)
    found = ImportJob.objects.filter(pk=_id(job_id), seller=seller).first()
    if found is None:
        raise NotOwned("No such import.")
    return found
