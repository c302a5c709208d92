"""The API object (django-ninja) and what wraps each of its URLs.

Ninja does the routing, the validation and the OpenAPI document; around each
of its views, one wrapper keeps the protocol of ``shop.api`` whatever ninja
answers by itself: JSON for a wrong method (405) or a body that is not JSON
(415), the error shape for every exception, ``ETag``/304 on reads.
"""

from __future__ import annotations

import hashlib
import inspect
import logging
import re
from collections.abc import Callable
from functools import cache, wraps
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.urls import URLPattern, URLResolver, path, re_path
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.http import parse_etags
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from catalog.headers import data_images_allowed
from shop.api.access import (
    chunk_allowance,
    import_allowance,
    token_in_query,
    token_in_query_error,
)
from shop.api.endpoints import router
from shop.api.errors import ApiError, api_error_response, error_response, too_large_response

logger = logging.getLogger(__name__)

api = NinjaAPI(
    title="Échoppe seller API",
    version="1",
    description=(
        "Your products, files, sales, refunds, figures, followers and campaigns. "
        "Authenticate with `Authorization: Bearer <token>`; make tokens on /sell/api/."
    ),
    urls_namespace="api_v1",
    docs_url="/docs",
    docs_decorator=data_images_allowed,
    openapi_url="/openapi.json",
)
api.add_router("/", router)

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


@api.exception_handler(ApiError)
def _api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
    return api_error_response(exc)


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return error_response(404, "not_found", "Nothing here belongs to this token's seller.")


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return error_response(
        401, "missing_token", "Send a token in the header Authorization: Bearer <token>."
    )


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if exc.status_code == 400 and str(exc).startswith("Cannot parse request body"):
        return error_response(
            400, "malformed_json", "The body is not valid JSON: check quotes, commas and braces."
        )
    return error_response(exc.status_code, "error", str(exc))


def _where(loc: tuple[Any, ...] | list[Any]) -> tuple[str, str]:
    """(``body`` / ``query`` / ``path``, the field's name) of a pydantic error location."""
    kind = str(loc[0]) if loc else "body"
    # Body errors come as ("body", "payload", field...); query ones as ("query", field).
    rest = [str(part) for part in loc[2:]] if kind == "body" else [str(p) for p in loc[1:]]
    return kind, ".".join(rest) or "__all__"


@api.exception_handler(ValidationError)
def _invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    fields: dict[str, list[str]] = {}
    kinds = set()
    for error in exc.errors:
        kind, name = _where(error.get("loc", ()))
        kinds.add(kind)
        message = str(error.get("msg", "Invalid value."))
        if error.get("type") == "extra_forbidden":
            message = "Unknown field: this endpoint does not take it."
        elif error.get("type") == "missing":
            message = "This field is required."
        fields.setdefault(name, []).append(message)
    if kinds == {"body"}:
        return error_response(422, "invalid", "Some fields need a change.", fields=fields)
    if "path" in kinds:
        return error_response(404, "not_found", "Nothing here belongs to this token's seller.")
    return error_response(400, "bad_query", "Some query parameters cannot be read.", fields=fields)


@api.exception_handler(Exception)
def _unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.exception("API error on %s %s", request.method, request.path)
    return error_response(500, "server_error", "Something went wrong on our side; try again.")


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _methods(view: Callable[..., HttpResponseBase]) -> frozenset[str]:
    """The methods a ninja view answers: its ``PathView``'s operations; the document and
    the docs page (not operations) are read with GET."""
    view = inspect.unwrap(view)  # the docs page's decorator (catalog.headers)
    if not inspect.isfunction(view):
        return frozenset({"GET"})
    path_view = inspect.getclosurevars(view).nonlocals.get("self")
    return frozenset(m for op in getattr(path_view, "operations", ()) for m in op.methods)


@cache
def _declared_parameters(path: str, method: str) -> frozenset[str] | None:
    """The query parameters the OpenAPI document declares for an operation (None: not one)."""
    operation = api.get_openapi_schema()["paths"].get(path, {}).get(method.lower())
    if operation is None:
        return None
    return frozenset(p["name"] for p in operation.get("parameters", ()) if p["in"] == "query")


@cache
def _declared_body(path: str, method: str) -> frozenset[str]:
    """The media types an operation's body may have (none: it takes no body); what is
    not an operation wants JSON, so that an unknown route still answers in the API's words."""
    operation = api.get_openapi_schema()["paths"].get(path, {}).get(method.lower())
    if operation is None:
        return frozenset({"application/json"})
    return frozenset(operation.get("requestBody", {}).get("content", {}))


def _body_types(request: HttpRequest) -> frozenset[str]:
    match = request.resolver_match
    if match is None or request.method is None:
        return frozenset({"application/json"})
    return _declared_body("/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", match.route), request.method)


def _unknown_parameters(request: HttpRequest) -> list[str]:
    """Query parameters the operation does not take: refused, like unknown body fields."""
    match = request.resolver_match
    if not request.GET or match is None or request.method is None:
        return []
    path = "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", match.route)
    declared = _declared_parameters(path, request.method)
    if declared is None:
        return []
    return sorted(name for name in request.GET if name not in declared)


def _protocol(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    methods = _methods(view)
    allow = ", ".join(sorted(methods))

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        # First of all: a token in the address is refused whatever else is wrong.
        if token_in_query(request):
            return api_error_response(token_in_query_error())
        if request.method not in methods:
            return error_response(
                405,
                "method_not_allowed",
                f"{request.method} is not allowed here; use {allow}.",
                headers={"Allow": allow},
            )
        unknown = _unknown_parameters(request)
        if unknown:
            return error_response(
                400,
                "bad_query",
                "Unknown query parameters: this endpoint does not take them.",
                fields={name: ["Unknown parameter."] for name in unknown},
            )
        # An operation that takes no body (POST .../revoke) reads none, whatever its type.
        accepted = _body_types(request) if request.method in BODY_METHODS else frozenset()
        if accepted and request.content_type not in accepted:
            return error_response(
                415,
                "unsupported_media_type",
                "Send the body as JSON, with the header Content-Type: application/json."
                if accepted == {"application/json"}
                else "Send the body with the header Content-Type: "
                + " or ".join(sorted(accepted))
                + ".",
            )
        # One language for every answer, whatever Accept-Language or a cookie says: the
        # services' messages too (docs/decisions.md, 69).
        with translation.override("en"):
            response = view(request, *args, **kwargs)
        if request.method == "GET" and response.status_code == 200:
            assert isinstance(response, HttpResponse)
            tag = _etag(response.content)
            response["ETag"] = tag
            response["Cache-Control"] = "private, no-cache"
            patch_vary_headers(response, ["Authorization"])
            wanted = request.headers.get("If-None-Match", "")
            if wanted and (tag in parse_etags(wanted) or wanted.strip() == "*"):
                not_modified = HttpResponse(status=304)
                for name in ("ETag", "Cache-Control", "Vary"):
                    not_modified[name] = response[name]
                return not_modified
        return response

    wrapper.too_large_response = too_large_response  # type: ignore[attr-defined]
    return wrapper


def not_found(request: HttpRequest, rest: str = "") -> HttpResponse:
    return error_response(404, "not_found", "There is no such endpoint. See /api/v1/docs.")


not_found.too_large_response = too_large_response  # type: ignore[attr-defined]


def _wrapped(patterns: list[URLPattern | URLResolver]) -> list[URLPattern | URLResolver]:
    out: list[URLPattern | URLResolver] = []
    for pattern in patterns:
        if isinstance(pattern, URLPattern):
            pattern.callback = _protocol(pattern.callback)
            # A chunk of an upload, a catalog ZIP: larger than any other body.
            route = str(pattern.pattern)
            if route.endswith("/uploads/<upload_id>"):
                pattern.callback.request_body_token_limit = chunk_allowance  # type: ignore[attr-defined]
            elif route == "imports":
                pattern.callback.request_body_token_limit = import_allowance  # type: ignore[attr-defined]
        out.append(pattern)
    return out


def urlpatterns() -> list[URLPattern | URLResolver]:
    ninja_patterns, app_name, namespace = api.urls
    return [
        path("", (_wrapped(list(ninja_patterns)), app_name, namespace)),
        re_path(r"^(?P<rest>.*)$", not_found),
    ]
