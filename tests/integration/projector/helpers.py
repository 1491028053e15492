"""Helpers for driving a Projector directly over the real read store and event store."""

import uuid
from typing import Any

from litestar.testing import AsyncTestClient

from cqrs_contracts.envelopes import EventEnvelope
from cqrs_contracts.read_models import READ_MODELS, ReadModel
from cqrs_event_store.reader import EventReader
from cqrs_read_store.writer import ViewStore
from projector.application.projector import Projector
from tests.support.polling import eventually

COMMANDS = "/api/v1/cqrs/commands"


async def send(commands: AsyncTestClient, type_: str, **data: Any) -> str:
    """Run a command through the real command-service; the aggregate id it answers."""
    response = await commands.post(COMMANDS, json={"type": type_, "data": data})
    assert response.status_code == 200, response.text
    return str(response.json()["aggregate_id"])


def email() -> str:
    return f"{uuid.uuid4().hex}@example.com"


async def stored_events(source: EventReader, *streams: str) -> list[EventEnvelope]:
    """Every stored event of `streams`, in global (position) order."""
    found = [e for s in streams for e in await source.stream_between(s, 0, 1_000_000)]
    return sorted(found, key=lambda e: e.position or 0)


async def feed(views: ViewStore, source: EventReader, envelopes: list[EventEnvelope]) -> None:
    projector = Projector(views=[views], history=source, notifier=None)
    for envelope in envelopes:
        await projector.handle(envelope)


async def snapshot(
    views: ViewStore, ids: list[str]
) -> dict[tuple[str, str], tuple[ReadModel, int]]:
    """Every stored read-model document among `ids`, with its revision."""
    found = {}
    for name, model in READ_MODELS.items():
        for doc_id in ids:
            doc, revision = await views.load(model, doc_id)
            if doc is not None:
                found[name, doc_id] = (doc, revision)
    return found


def documents(
    snap: dict[tuple[str, str], tuple[ReadModel, int]],
) -> dict[tuple[str, str], ReadModel]:
    return {key: doc for key, (doc, _) in snap.items()}


def differences(
    actual: dict[tuple[str, str], ReadModel], expected: dict[tuple[str, str], ReadModel]
) -> dict[tuple[str, str], object]:
    """Per document, the fields that differ as (actual, expected); missing documents too."""
    found: dict[tuple[str, str], object] = {}
    for key in sorted(actual.keys() | expected.keys()):
        a, e = actual.get(key), expected.get(key)
        if a is None or e is None:
            found[key] = (a, e)
            continue
        fields = {
            name: (getattr(a, name), getattr(e, name))
            for name in type(e).model_fields
            if getattr(a, name) != getattr(e, name)
        }
        if fields:
            found[key] = fields
    return found


async def wait_for_doc(
    read_db: Any, collection: str, doc_id: str, stream_id: str, version: int, within: float = 20.0
) -> dict[str, Any]:
    """The live document once it applied `stream_id` up to `version` (bounded wait)."""

    async def doc() -> dict[str, Any] | None:
        found: dict[str, Any] | None = await read_db[collection].find_one({"_id": doc_id})
        return found if found and found["versions"].get(stream_id, 0) >= version else None

    return await eventually(
        doc, timeout=within, what=f"{collection}/{doc_id} to reach {stream_id}@{version}"
    )
