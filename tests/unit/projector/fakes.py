"""Fakes of the read side's privacy ports: a key ring over keys held in memory (the real
sealing and revealing, an absent key raising as the real ring does) and an erasure that
records whom it erased."""

from collections.abc import Sequence
from dataclasses import dataclass, field

from cqrs_contracts.envelopes import EventEnvelope
from cqrs_event_store.privacy.cipher import DataKey
from cqrs_event_store.privacy.keyring import MissingDataKeyError
from cqrs_event_store.privacy.sealing import reveal_fields, sealed_key_ids
from projector.application.forgetting import Forgetting


@dataclass
class MemoryKeys:
    """`keys`: key id -> key (None: destroyed); a key id not there raises."""

    keys: dict[str, DataKey | None] = field(default_factory=dict)
    forgotten: list[str] = field(default_factory=list)
    lookups: int = 0

    async def reveal(self, envelopes: Sequence[EventEnvelope]) -> list[EventEnvelope]:
        wanted = set().union(*(sealed_key_ids(e.data) for e in envelopes))
        if not wanted:
            return list(envelopes)
        self.lookups += 1
        missing = wanted - self.keys.keys()
        if missing:
            raise MissingDataKeyError(f"no data key {sorted(missing)[0]}")
        return [e.model_copy(update={"data": reveal_fields(e.data, self.keys)}) for e in envelopes]

    def forget(self, subject: str) -> None:
        self.forgotten.append(subject)


@dataclass
class MemoryErasure:
    erased: list[str] = field(default_factory=list)

    async def forget_user(self, user_id: str) -> None:
        self.erased.append(user_id)


def plain_forgetting() -> Forgetting:
    """For tests whose events are not sealed."""
    return Forgetting(MemoryKeys(), MemoryErasure())
