"""The `data_keys` table: one data key per person, wrapped by the master key. Destroying
a key keeps its row as a tombstone (no wrapped key, `destroyed_at` set), so a reader can
tell "forgotten" (read as erased) from "not there yet" (an error to retry, never a
guess). Functions take a connection so a writer can create or destroy a key in the same
transaction as the events that need it."""

import base64
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from cqrs_event_store.privacy.cipher import DataKey, data_key, new_material
from cqrs_event_store.privacy.master_key import MasterKeyProvider
from cqrs_event_store.shards import id_beside
from cqrs_event_store.tables import data_keys
from cqrs_event_store.timestamps import naive_utc

_c = data_keys.c


@dataclass(frozen=True)
class StoredKey:
    key_id: str
    subject: str
    key: DataKey | None  # None: destroyed (a tombstone)


async def fetch(
    conn: AsyncConnection,
    master: MasterKeyProvider,
    *,
    key_ids: Collection[str] = (),
    subjects: Collection[str] = (),
) -> list[StoredKey]:
    """The keys with one of `key_ids` or belonging to one of `subjects`, unwrapped."""
    if not key_ids and not subjects:
        return []
    wanted = [_c.key_id.in_(list(key_ids))] if key_ids else []
    wanted += [_c.subject.in_(list(subjects))] if subjects else []
    query = select(_c.key_id, _c.subject, _c.wrapped_key).where(or_(*wanted))
    rows = await conn.execute(query)
    return [
        StoredKey(
            row.key_id,
            row.subject,
            None
            if row.wrapped_key is None
            else data_key(row.key_id, row.subject, _unwrap(master, row.wrapped_key, row.subject)),
        )
        for row in rows
    ]


def new_key(
    master: MasterKeyProvider, subject: str, now: datetime
) -> tuple[DataKey, dict[str, Any]]:
    """A new key for `subject` and the `data_keys` row that stores it (wrapped), for a
    writer that inserts rows in bulk."""
    key_id, material = id_beside(subject), new_material()  # on the subject's shard
    row = {
        "key_id": key_id,
        "subject": subject,
        "wrapped_key": base64.b64encode(master.wrap(material, subject)).decode(),
        "master_key_id": master.key_id,
        "created_at": naive_utc(now),
    }
    return data_key(key_id, subject, material), row


async def create(
    conn: AsyncConnection, master: MasterKeyProvider, subject: str, now: datetime
) -> DataKey:
    """A new key for `subject` (raises IntegrityError if the subject has one)."""
    key, row = new_key(master, subject, now)
    await conn.execute(insert(data_keys).values(**row))
    return key


async def destroy(conn: AsyncConnection, subject: str, now: datetime) -> None:
    """Destroy `subject`'s key (a subject without one gets a tombstone all the same, so
    nothing can be sealed for them later by mistake)."""
    result = await conn.execute(
        update(data_keys)
        .where(_c.subject == subject)
        .values(wrapped_key=None, destroyed_at=naive_utc(now))
    )
    if result.rowcount == 0:
        await conn.execute(
            insert(data_keys).values(
                key_id=id_beside(subject),
                subject=subject,
                wrapped_key=None,
                master_key_id="",
                created_at=naive_utc(now),
                destroyed_at=naive_utc(now),
            )
        )


def _unwrap(master: MasterKeyProvider, wrapped: str, subject: str) -> bytes:
    return master.unwrap(base64.b64decode(wrapped), subject)
