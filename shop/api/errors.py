"""The API's one error shape: ``{"error": {"code": ..., "message": ...}}``.

Codes are stable words a client may branch on; messages are English
sentences for the person reading the log (docs/decisions.md, 69).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        fields: dict[str, list[str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields
        self.headers = headers or {}


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    fields: dict[str, list[str]] | None = None,
    headers: dict[str, str] | None = None,
) -> JsonResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    if fields is not None:
        body["fields"] = fields
    response = JsonResponse({"error": body}, status=status)
    response["Cache-Control"] = "private, no-store"
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def api_error_response(exc: ApiError) -> JsonResponse:
    return error_response(exc.status, exc.code, exc.message, fields=exc.fields, headers=exc.headers)


def too_large_response(request: HttpRequest, message: str) -> JsonResponse:
    """What ``catalog.request_size`` answers for an API route with a body over the limit."""
    return error_response(413, "too_large", message)
