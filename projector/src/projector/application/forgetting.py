"""The read side of crypto-shredding: every event is revealed (its personal fields
opened, or erased where the subject's key is destroyed) before anything uses it, and a
`UserForgotten` event makes the process forget the user at once: their data key leaves
the key ring's cache, and what the read side keeps beside the documents (cached list
pages, time-travel answers, stored webhook deliveries) is erased once the documents are.

A failure to reveal (a key not there yet, the event store down) is raised for the
delivery loop to retry: a sealed value never reads as erased because of a hiccup."""

from collections.abc import Sequence
from typing import Protocol

from cqrs_contracts.envelopes import EventEnvelope
from cqrs_contracts.events import UserForgotten
from cqrs_contracts.privacy import SUBJECT_FIELD

FORGOTTEN = UserForgotten.__name__


class Keys(Protocol):
    """The key ring (cqrs_event_store.privacy.keyring.KeyRing)."""

    async def reveal(self, envelopes: Sequence[EventEnvelope]) -> list[EventEnvelope]: ...

    def forget(self, subject: str) -> None: ...


class Erasure(Protocol):
    async def forget_user(self, user_id: str) -> None:
        """Erase what is kept of `user_id` outside the documents; raises when it could
        not (the event is then retried)."""


def forgotten_users(envelopes: Sequence[EventEnvelope]) -> list[str]:
    """The subjects of the `UserForgotten` events among `envelopes`, in order."""
    return [str(e.data[SUBJECT_FIELD]) for e in envelopes if e.type == FORGOTTEN]


class Forgetting:
    def __init__(self, keys: Keys, erasure: Erasure) -> None:
        self._keys = keys
        self._erasure = erasure

    async def reveal(self, envelopes: Sequence[EventEnvelope]) -> list[EventEnvelope]:
        """`envelopes` revealed, the keys of all of them in one lookup; the key of every
        user they forget is dropped from the cache at once (later reads find the
        tombstone and erase)."""
        revealed = await self._keys.reveal(envelopes)
        for user_id in forgotten_users(revealed):
            self._keys.forget(user_id)
        return revealed

    async def erase_forgotten(self, envelopes: Sequence[EventEnvelope]) -> list[str]:
        """After `envelopes` are applied: erase the kept copies of every user they
        forget; those users."""
        users = forgotten_users(envelopes)
        for user_id in users:
            await self._erasure.forget_user(user_id)
        return users
