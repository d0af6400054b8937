"""One error shape for the API, and friendly pages for the dashboard.

Every API error body is ``{"error": {"code": ..., "message": ..., "detail": ...}}``;
``code`` is stable for scripts, ``message`` is for people.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class ErrorInfo(BaseModel):
    code: str
    message: str
    detail: Any = None


class ErrorBody(BaseModel):
    error: ErrorInfo


class WebError(Exception):
    """An error the web layer turns into a response of ``status``."""

    status = 400
    code = "bad_request"

    def __init__(
        self, message: str, *, detail: Any = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail
        self.headers = headers

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "detail": self.detail}}


class NotSignedIn(WebError):
    status, code = 401, "not_signed_in"


class Forbidden(WebError):
    status, code = 403, "forbidden"


class NotFound(WebError):
    status, code = 404, "not_found"


class Conflict(WebError):
    status, code = 409, "conflict"


class Invalid(WebError):
    status, code = 422, "invalid"


class TooMany(WebError):
    status, code = 429, "too_many_requests"


#: What every API route may answer besides its success, for the OpenAPI document.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in [
        (400, "The request cannot be carried out"),
        (401, "Not signed in, or the token is unknown or revoked"),
        (403, "The role does not allow this, or the CSRF token is missing"),
        (404, "No such thing in this workspace"),
        (409, "It conflicts with the current state"),
        (422, "A parameter or the body is malformed"),
        (429, "Too many requests"),
    ]
}
