"""What every error answer must look like, and how the service must have logged it."""

import uuid

import httpx
import pytest

TRACE_MARKERS = ("Traceback", 'File "', "site-packages", '.py", line')


def request_id() -> str:
    return f"test-{uuid.uuid4().hex[:16]}"


def assert_error(answer: httpx.Response, status: int, code: str | None = None) -> None:
    """Exactly {"error": {"code", "message", "details"}}, the status asked for, and no
    trace of the code that failed."""
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    assert isinstance(body["error"]["code"], str)
    assert body["error"]["code"]
    assert isinstance(body["error"]["message"], str)
    assert isinstance(body["error"]["details"], dict)
    if code is not None:
        assert body["error"]["code"] == code, body
    assert not any(marker in answer.text for marker in TRACE_MARKERS), answer.text


def assert_logged(caplog: pytest.LogCaptureFixture, rid: str, status: int) -> None:
    """The service logged this error with the request id: in the line itself, or as the
    line's request_id field (every line a request causes carries it)."""
    lines = [
        (r.getMessage(), getattr(r, "request_id", None) == rid or rid in r.getMessage())
        for r in caplog.records
    ]
    assert any(named and str(status) in line for line, named in lines), (rid, status, lines[-6:])
