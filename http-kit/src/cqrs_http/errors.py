"""Every error leaves as {"error": {code, message, details}}; no stack trace ever does."""

import logging
from typing import Any, TypeVar

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from pydantic import BaseModel, ValidationError

from cqrs_contracts.errors import ErrorCode, error_body
from cqrs_http.logs import request_id_var

log = logging.getLogger("cqrs_http.errors")

CODES = {
    400: ErrorCode.BAD_REQUEST,
    401: ErrorCode.UNAUTHORIZED,
    403: ErrorCode.FORBIDDEN,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.BAD_REQUEST,
    409: ErrorCode.CONFLICT,
    413: ErrorCode.PAYLOAD_TOO_LARGE,
    422: ErrorCode.VALIDATION_FAILED,
    429: ErrorCode.RATE_LIMITED,
    503: ErrorCode.DEPENDENCY_UNAVAILABLE,
    504: ErrorCode.TIMEOUT,
}


def request_id(request: Request[Any, Any, Any]) -> str | None:
    return request_id_var.get() or request.headers.get("x-request-id")


def error_response(status: int, code: str, message: str, **details: Any) -> Response[Any]:
    return Response(error_body(code, message, **details), status_code=status)


def on_http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    code = CODES.get(exc.status_code, ErrorCode.BAD_REQUEST)
    details: dict[str, Any] = {}
    if isinstance(exc, ValidationException) and exc.extra:
        details["fields"] = exc.extra
    log.log(
        logging.WARNING if exc.status_code >= 500 else logging.INFO,
        "%s %s -> %s %s (request %s)",
        request.method,
        request.url.path,
        exc.status_code,
        code,
        request_id(request),
    )
    response = error_response(exc.status_code, code, str(exc.detail), **details)
    if exc.headers:
        response.headers.update(exc.headers)
    if exc.status_code == 429 and "retry-after" not in {k.lower() for k in response.headers}:
        response.headers["Retry-After"] = _retry_after(exc.headers or {})
    return response


def _retry_after(headers: dict[str, str]) -> str:
    """Seconds until the rate-limit window resets (Litestar's RateLimit-Reset), at least 1."""
    reset = headers.get("RateLimit-Reset", "60")
    return str(max(1, int(reset))) if reset.lstrip("-").isdigit() else "60"


def on_dependency_down(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.warning(
        "%s %s -> 503 dependency_unavailable (request %s): %s",
        request.method,
        request.url.path,
        request_id(request),
        exc,
    )
    return error_response(
        503, ErrorCode.DEPENDENCY_UNAVAILABLE, "a dependency is unavailable; retry"
    )


def on_timeout(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.warning(
        "%s %s -> 504 timeout (request %s)", request.method, request.url.path, request_id(request)
    )
    return error_response(504, ErrorCode.TIMEOUT, "the request timed out; retry")


def on_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception(
        "%s %s -> 500 internal_error (request %s)",
        request.method,
        request.url.path,
        request_id(request),
    )
    return error_response(500, ErrorCode.INTERNAL, "internal error; see the service log")


def field_errors(error: ValidationError, prefix: str = "") -> list[dict[str, str]]:
    """One entry per invalid field of a pydantic error."""
    return [
        {
            "field": prefix + (".".join(map(str, e["loc"])) or "body"),
            "message": e["msg"],
            "rule": e["type"],
        }
        for e in error.errors()
    ]


def invalid_input(message: str, fields: list[dict[str, str]]) -> ValidationException:
    """A 422 whose details list every invalid field."""
    return ValidationException(message, extra=fields, status_code=422)


Model = TypeVar("Model", bound=BaseModel)


def parsed(model: type[Model], data: Any, message: str) -> Model:
    """`data` as `model`, or the 422 (`message`) naming every invalid field."""
    try:
        return model.model_validate(data)
    except ValidationError as invalid:
        raise invalid_input(message, field_errors(invalid)) from invalid
