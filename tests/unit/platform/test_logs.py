"""Log lines: JSON with the request's ids from context, or text with them as key=value."""

import json
import logging
import sys

from cqrs_http.logs import (
    ContextFilter,
    JsonFormatter,
    TextFormatter,
    bind_command,
    command_id_var,
    request_id_var,
)


def record(message: str, **extra: object) -> logging.LogRecord:
    made = logging.LogRecord("orders", logging.WARNING, __file__, 1, message, None, None)
    for key, value in extra.items():
        setattr(made, key, value)
    ContextFilter("command-service").filter(made)
    return made


def test_a_json_line_carries_the_context_and_extra_fields() -> None:
    rid, cid = request_id_var.set("req-1"), command_id_var.set(None)
    try:
        bind_command("cmd-9")
        line = json.loads(JsonFormatter().format(record("slow write", took_ms=12.5)))
    finally:
        request_id_var.reset(rid)
        command_id_var.reset(cid)
    assert line == {
        "time": line["time"],
        "level": "WARNING",
        "logger": "orders",
        "message": "slow write",
        "took_ms": 12.5,
        "service": "command-service",
        "request_id": "req-1",
        "command_id": "cmd-9",
    }
    assert line["time"].endswith("+00:00")


def test_outside_a_request_the_ids_are_left_out() -> None:
    line = json.loads(JsonFormatter().format(record("tick")))
    assert "request_id" not in line
    assert "command_id" not in line
    assert line["service"] == "command-service"


def test_an_exception_is_one_field_of_the_one_line() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        made = record("failed")
        made.exc_info = sys.exc_info()
    text = JsonFormatter().format(made)
    assert "\n" not in text
    assert "ValueError: boom" in json.loads(text)["exception"]


def test_a_text_line_names_the_ids_as_key_value() -> None:
    token = request_id_var.set("req-2")
    try:
        text = TextFormatter().format(record("hello"))
    finally:
        request_id_var.reset(token)
    assert text.endswith("WARNING orders hello request_id=req-2")
