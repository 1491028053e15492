"""The data keys a write transaction seals with: a subject's key is read in the
transaction's own connection, or created there when it has none, so the key and the
events it seals commit (or roll back) together.

`WriteKeys` lives as long as the process: the master key, the claims' hasher, and a
cache of keys read from the table (committed ones only; a key created by a transaction
that may still roll back is kept by that transaction alone), each for `ttl` seconds.
`SessionKeys` is one transaction's view: what it created, read or destroyed."""

import time
from collections.abc import Callable, Collection, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from command_service.application.ports import ForgottenSubjectError, VersionConflictError
from cqrs_contracts.settings import PrivacySettings
from cqrs_event_store.privacy import data_keys
from cqrs_event_store.privacy.cipher import DataKey
from cqrs_event_store.privacy.keyring import MissingDataKeyError
from cqrs_event_store.privacy.master_key import (
    ClaimHasher,
    MasterKeyProvider,
    master_key_from,
)
from cqrs_event_store.privacy.sealing import reveal_fields, sealed_key_ids

FOREVER = float("inf")


class WriteKeys:
    def __init__(
        self,
        master: MasterKeyProvider,
        ttl: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.master = master
        self.hasher = ClaimHasher(master)
        self._ttl = ttl
        self._clock = clock
        self._by_subject: dict[str, tuple[data_keys.StoredKey, float]] = {}
        self._by_id: dict[str, tuple[data_keys.StoredKey, float]] = {}

    @classmethod
    def from_settings(cls, privacy: PrivacySettings) -> "WriteKeys":
        return cls(master_key_from(privacy), privacy.key_cache_ttl)

    def session(self, conn: AsyncConnection, *, staged: bool = False) -> "SessionKeys":
        return SessionKeys(self, conn, staged=staged)

    def cached(self, *, subject: str = "", key_id: str = "") -> data_keys.StoredKey | None:
        entry = self._by_subject.get(subject) if subject else self._by_id.get(key_id)
        return entry[0] if entry is not None and entry[1] > self._clock() else None

    def remember(self, stored: data_keys.StoredKey) -> None:
        """Cache a key read from the table (a tombstone for good: it never comes back)."""
        expires = FOREVER if stored.key is None else self._clock() + self._ttl
        self._by_subject[stored.subject] = self._by_id[stored.key_id] = (stored, expires)

    def evict(self, subject: str) -> None:
        entry = self._by_subject.pop(subject, None)
        if entry is not None:
            self._by_id.pop(entry[0].key_id, None)


class SessionKeys:
    """One transaction's keys. Raises ForgottenSubjectError for a subject whose key is
    destroyed, VersionConflictError when another transaction created the subject's key
    first (retry: the next attempt reads it).

    `staged`: new keys are not inserted at once but kept in `staged_rows`, for a group
    commit to insert with its other rows in one statement (a clash then fails the batch)."""

    def __init__(self, owner: WriteKeys, conn: AsyncConnection, *, staged: bool = False) -> None:
        self._owner = owner
        self._conn = conn
        self._staged = staged
        self.staged_rows: list[dict[str, Any]] = []
        self._mine: dict[str, DataKey | None] = {}  # subject -> created, read or destroyed here
        self._ids: dict[str, DataKey | None] = {}  # key id -> the same keys

    async def for_subject(self, subject: str, now: datetime, *, fresh: bool = False) -> DataKey:
        """`subject`'s key: created in this transaction if they have none. `fresh`: the
        subject's stream has no event yet, so it has no key either and none is looked up
        (a new user costs one row, not a read and a row)."""
        if subject in self._mine:
            key = self._mine[subject]
        elif fresh:
            key = await self._create(subject, now)
            self._keep(subject, key)
        else:
            key = await self._lookup(subject, now)
        if key is None:
            raise ForgottenSubjectError(subject)
        return key

    async def _lookup(self, subject: str, now: datetime) -> DataKey | None:
        stored = self._owner.cached(subject=subject)
        if stored is None:
            found = await data_keys.fetch(self._conn, self._owner.master, subjects=[subject])
            stored = found[0] if found else None
            if stored is not None:
                self._owner.remember(stored)
        key = stored.key if stored is not None else await self._create(subject, now)
        self._keep(subject, key)
        return key

    async def _create(self, subject: str, now: datetime) -> DataKey:
        if self._staged:
            key, row = data_keys.new_key(self._owner.master, subject, now)
            self.staged_rows.append(row)
            return key
        try:
            return await data_keys.create(self._conn, self._owner.master, subject, now)
        except IntegrityError as raced:  # another transaction created it first
            raise VersionConflictError(subject, 0) from raced

    def _keep(self, subject: str, key: DataKey | None) -> None:
        self._mine[subject] = key
        if key is not None:
            self._ids[key.key_id] = key

    def known(self, subject: str) -> DataKey | None:
        """The live key this transaction holds for `subject` already (no lookup)."""
        return self._mine.get(subject)

    async def keys(self, key_ids: Collection[str]) -> dict[str, DataKey | None]:
        """Each of `key_ids` -> its key, None where destroyed; an absent one raises
        MissingDataKeyError (never read as erased)."""
        found: dict[str, DataKey | None] = {}
        wanted = []
        for key_id in key_ids:
            if key_id in self._ids:
                found[key_id] = self._ids[key_id]
            elif (stored := self._owner.cached(key_id=key_id)) is not None:
                found[key_id] = stored.key
            else:
                wanted.append(key_id)
        for stored in await data_keys.fetch(self._conn, self._owner.master, key_ids=wanted):
            self._owner.remember(stored)
            found[stored.key_id] = stored.key
        missing = set(key_ids) - found.keys()
        if missing:
            raise MissingDataKeyError(f"no data key {sorted(missing)[0]} in data_keys")
        return found

    async def reveal(self, data: Mapping[str, Any]) -> dict[str, Any]:
        ids = sealed_key_ids(data)
        return reveal_fields(data, await self.keys(ids)) if ids else dict(data)

    async def forget(self, subject: str, now: datetime) -> None:
        """Destroy `subject`'s key in this transaction; no cache keeps it."""
        await data_keys.destroy(self._conn, subject, now)
        old = self._mine.get(subject)
        if old is not None:
            self._ids[old.key_id] = None
        self._mine[subject] = None
        self._owner.evict(subject)
