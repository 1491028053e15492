"""What the command log and the idempotency answers keep of personal data: a logged
request's personal fields sealed with the subject's key when the command was accepted,
"[redacted]" otherwise (no subject, or none that was written); a remembered answer's
events sealed as the events table holds them. Pure, given the keys."""

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from typing import Any

from command_service.adapters.new_events import sealed_data, subject_to_seal
from command_service.application.ports import CommandRecord
from cqrs_contracts.commands import COMMAND_TYPES
from cqrs_contracts.privacy import ERASED, personal_fields
from cqrs_event_store.privacy.cipher import DataKey, is_sealed
from cqrs_event_store.privacy.sealing import seal_fields

REDACTED = "[redacted]"


def request_fields(command_type: str) -> frozenset[str]:
    """The personal fields of a command type's data."""
    contract = COMMAND_TYPES.get(command_type)
    return personal_fields(contract) if contract is not None else frozenset()


def request_subject(record: CommandRecord) -> str | None:
    """Whose key seals this logged request: the aggregate of an accepted command whose
    data holds a personal value (None: redact, or nothing to protect)."""
    data = record.request.get("data")
    fields = request_fields(record.type)
    if not isinstance(data, dict) or not any(_plain(data.get(f)) for f in fields):
        return None
    return record.aggregate_id if record.status == "accepted" else None


def protected_record(record: CommandRecord, key: DataKey | None) -> CommandRecord:
    """`record` with its request's personal fields sealed by `key`, or redacted."""
    return replace(record, request=protected_request(record.type, record.request, key))


def protected_request(
    command_type: str, request: Mapping[str, Any], key: DataKey | None
) -> dict[str, Any]:
    data, fields = request.get("data"), request_fields(command_type)
    if not isinstance(data, dict) or not fields:
        return dict(request)
    if key is not None:
        return {**request, "data": seal_fields(data, fields, key)}
    redacted = {k: REDACTED if k in fields and _plain(v) else v for k, v in data.items()}
    return {**request, "data": redacted}


def answer_subjects(body: Mapping[str, Any]) -> set[str]:
    """The subjects whose keys seal the events an answer carries."""
    return {s for e in _events(body) if (s := subject_to_seal(e["type"], e["data"]))}


def sealed_answer(body: Mapping[str, Any], keys: Mapping[str, DataKey]) -> dict[str, Any]:
    """The answer as remembered: its events' personal fields sealed (keys by subject)."""
    if not _events(body):
        return dict(body)
    events = [
        e | {"data": sealed_data(e["type"], e["data"], keys.get(s))}
        if (s := subject_to_seal(e["type"], e["data"]))
        else e
        for e in _events(body)
    ]
    return {**body, "events": events}


async def revealed_answer(
    body: Mapping[str, Any], reveal: Callable[[Mapping[str, Any]], Awaitable[dict[str, Any]]]
) -> dict[str, Any]:
    if not _events(body):
        return dict(body)
    return {**body, "events": [e | {"data": await reveal(e["data"])} for e in _events(body)]}


def _events(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    events = body.get("events")
    return events if isinstance(events, list) else []


def _plain(value: Any) -> bool:
    return value is not None and value not in (ERASED, REDACTED) and not is_sealed(value)
