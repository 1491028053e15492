"""Events written straight to the primary's store, as the command-service stores them."""

import uuid
from datetime import UTC, datetime

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from cqrs_contracts.envelopes import EventEnvelope
from cqrs_event_store.event_codec import event_row
from cqrs_event_store.tables import events


def user_events(user_id: str, versions: range) -> list[EventEnvelope]:
    """A user's stream: created at version 1, renamed at each later version."""
    now = datetime.now(UTC)
    made = []
    for v in versions:
        created = v == 1
        made.append(
            EventEnvelope(
                event_id=str(uuid.uuid4()),
                stream_type="user",
                stream_id=user_id,
                version=v,
                type="UserCreated" if created else "UserUpdated",
                schema_version=2 if created else 1,
                data={"user_id": user_id, "name": f"v{v}"}
                | (
                    {"email": f"{user_id}@x.io", "age": 30, "created_at": now.isoformat()}
                    if created
                    else {}
                )
                | ({} if created else {"updated_at": now.isoformat()}),
                occurred_at=now,
            )
        )
    return made


async def append(engine: AsyncEngine, envelopes: list[EventEnvelope]) -> int:
    """Store `envelopes` in one transaction; the newest position afterwards."""
    async with engine.begin() as conn:
        for e in envelopes:
            await conn.execute(insert(events).values(**event_row(e)))
        return int(await conn.scalar(select(func.max(events.c.position))) or 0)
