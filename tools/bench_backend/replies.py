"""What a handler returns: a reply (status, JSON body, headers) or an ApiError in contract form."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tools.bench_backend.errors import BackendError

# Contract error codes by status (api-contract.md, "Errors"); others are this project's choices.
DEFAULT_CODES = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    409: "conflict",
    422: "unprocessable",
    429: "rate_limit_exceeded",
    500: "internal_error",
    502: "bad_gateway",
    503: "service_unavailable",
    504: "gateway_timeout",
}


@dataclass
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


class ApiError(BackendError):
    """A contract error reply: `{"error": {"code", "message", "details"}}` with `status`."""

    def __init__(
        self, status: int, message: str, code: str | None = None, details: dict | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code or DEFAULT_CODES.get(status, "error")
        self.message = message
        self.details = details

    def reply(self) -> Reply:
        return error_reply(self.status, self.message, self.code, self.details)


def error_reply(
    status: int, message: str, code: str | None = None, details: dict | None = None
) -> Reply:
    error: dict[str, Any] = {"code": code or DEFAULT_CODES.get(status, "error"), "message": message}
    if details:
        error["details"] = details
    return Reply(status, {"error": error})


def invalid(field_name: str, message: str) -> ApiError:
    """400 invalid_request naming the offending field."""
    return ApiError(400, f"{field_name}: {message}", "invalid_request", {"field": field_name})
