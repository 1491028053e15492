"""Every error leaves as {"error": {code, message, details}}; no stack trace ever does."""

import logging
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

from cqrs_contracts.errors import ErrorCode, error_body

log = logging.getLogger("command_service.http")

_CODES = {
    400: ErrorCode.BAD_REQUEST,
    401: ErrorCode.UNAUTHORIZED,
    403: ErrorCode.FORBIDDEN,
    404: ErrorCode.NOT_FOUND,
    409: ErrorCode.CONFLICT,
    413: ErrorCode.PAYLOAD_TOO_LARGE,
    422: ErrorCode.VALIDATION_FAILED,
    429: ErrorCode.RATE_LIMITED,
    503: ErrorCode.DEPENDENCY_UNAVAILABLE,
    504: ErrorCode.TIMEOUT,
}


def error_response(status: int, code: str, message: str, **details: object) -> Response[object]:
    return Response(error_body(code, message, **details), status_code=status)


def on_http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[object]:
    code = _CODES.get(exc.status_code, ErrorCode.BAD_REQUEST)
    details: dict[str, object] = {}
    if isinstance(exc, ValidationException) and exc.extra:
        details["fields"] = exc.extra
    response = error_response(exc.status_code, code, str(exc.detail), **details)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


def on_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[object]:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(500, ErrorCode.INTERNAL, "internal error; see the service log")


def on_dependency_down(request: Request[Any, Any, Any], exc: Exception) -> Response[object]:
    log.warning("dependency unavailable on %s %s: %s", request.method, request.url.path, exc)
    return error_response(
        503, ErrorCode.DEPENDENCY_UNAVAILABLE, "a dependency is unavailable; retry"
    )


def on_timeout(request: Request[Any, Any, Any], exc: Exception) -> Response[object]:
    log.warning("timeout on %s %s", request.method, request.url.path)
    return error_response(504, ErrorCode.TIMEOUT, "the request timed out; retry")
