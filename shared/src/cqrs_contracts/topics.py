"""Kafka topic names and message header keys shared by producer and consumers."""

from typing import Final

EVENTS_TOPIC: Final = "cqrs-events"
DEAD_LETTER_TOPIC: Final = "cqrs-events.dlq"
EVENTS_PARTITIONS: Final = 3

HEADER_EVENT_TYPE: Final = "event-type"
HEADER_EVENT_ID: Final = "event-id"
HEADER_SCHEMA_VERSION: Final = "schema-version"
HEADER_TRACEPARENT: Final = "traceparent"
HEADER_ERROR: Final = "dlq-error"
