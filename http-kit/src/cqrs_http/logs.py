"""Structured logs: one JSON object per line (time, level, logger, message, service,
request_id, command_id, trace_id, and any `extra=` fields) or plain text, as
`logging.format` says. The request and command ids come from context variables that
`cqrs_http.request_context` (and the command endpoint) set, so every line a request
causes carries them; trace_id comes from the current OpenTelemetry span when the
OpenTelemetry API is installed."""

import copy
import logging
import logging.config
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import msgspec
from litestar.logging.config import LoggingConfig, default_handlers
from opentelemetry import trace as otel_trace

from cqrs_contracts.settings import LoggingSettings

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
command_id_var: ContextVar[str | None] = ContextVar("command_id", default=None)

CONTEXT = ("service", "request_id", "command_id", "trace_id")
QUIET = {name: {"level": "WARNING"} for name in ("httpx", "httpcore", "aiokafka")}
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def bind_command(command_id: str | None) -> None:
    """Name the command the current request is about, on every later line it logs."""
    command_id_var.set(command_id)


def trace_id() -> str | None:
    context = otel_trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None


class ContextFilter(logging.Filter):
    """Stamps each record with the service and the ids of the request being served (it
    runs where the record is made, before any queue hands it to another thread)."""

    def __init__(self, service: str = "") -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = self.service
        record.request_id = request_id_var.get()
        record.command_id = command_id_var.get()
        record.trace_id = getattr(record, "trace_id", None) or trace_id()
        return True


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and v is not None}


# msgspec: several times faster than json.dumps on the one line per request; anything it
# cannot encode is written as its str(), as json.dumps(default=str) did
_encode = msgspec.json.Encoder(enc_hook=str).encode


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **_extras(record),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = record.stack_info
        return _encode(line).decode()


class TextFormatter(logging.Formatter):
    """`time LEVEL logger message key=value ...` (the context fields that are set)."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        fields = " ".join(f"{k}={v}" for k, v in _extras(record).items() if k != "service")
        return f"{text} {fields}" if fields else text


def _formatter(settings: LoggingSettings) -> dict[str, Any]:
    kind = JsonFormatter if settings.format == "json" else TextFormatter
    return {"()": f"{kind.__module__}.{kind.__qualname__}"}


def _filters(service: str) -> dict[str, dict[str, Any]]:
    return {"context": {"()": f"{__name__}.ContextFilter", "service": service}}


def litestar_logging(settings: LoggingSettings, service: str) -> LoggingConfig:
    """Litestar's logging config (a queue, so no request waits on stderr), with our
    formatter and context on every handler."""
    handlers = copy.deepcopy(default_handlers)
    for handler in handlers.values():
        handler["filters"] = ["context"]
    return LoggingConfig(
        formatters={"standard": _formatter(settings)},
        filters=_filters(service),
        handlers=handlers,
        root={"handlers": ["queue_listener"], "level": settings.level},
        loggers={"litestar": {"level": settings.level, "propagate": True}, **QUIET},
    )


def dict_config(settings: LoggingSettings, service: str) -> dict[str, Any]:
    """A plain `logging.config.dictConfig` for processes without an app (CLI tasks), also
    given to Granian (`log_dictconfig`) so the server's own lines share the format."""
    console = {
        "class": "logging.StreamHandler",
        "formatter": "standard",
        "filters": ["context"],
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"standard": _formatter(settings)},
        "filters": _filters(service),
        "handlers": {"console": console},
        "root": {"handlers": ["console"], "level": settings.level},
        "loggers": {
            "_granian": {"handlers": ["console"], "level": settings.level, "propagate": False},
            "granian.access": {"handlers": ["console"], "level": "INFO", "propagate": False},
            **QUIET,
        },
    }


def configure(settings: LoggingSettings, service: str) -> None:
    logging.config.dictConfig(dict_config(settings, service))
