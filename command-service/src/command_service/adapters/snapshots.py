"""Aggregate state <-> JSON, for the snapshots table. A user's personal fields are
stored sealed with their data key, as in their events (revealed by the reader before
`load_state`; erased once the key is destroyed)."""

import dataclasses
from decimal import Decimal
from typing import Any

from command_service.adapters.new_events import sealed_data, subject_to_seal
from command_service.domain.model import Aggregate, Order, Payment, User
from cqrs_contracts.events import UserCreated
from cqrs_event_store.privacy.cipher import DataKey

_TYPES: dict[str, type[User] | type[Order] | type[Payment]] = {
    "user": User,
    "order": Order,
    "payment": Payment,
}
# a user's state holds what their creation event holds, personal fields alike
_PERSONAL_AS: dict[type, str] = {User: UserCreated.event_type()}


def state_subject(state: Aggregate) -> str | None:
    """Whose key must seal this state's snapshot (None: nothing personal in plain text)."""
    kind = _PERSONAL_AS.get(type(state))
    return subject_to_seal(kind, dataclasses.asdict(state)) if kind else None


def dump_state(state: Aggregate, key: DataKey | None = None) -> dict[str, Any]:
    plain = {
        k: str(v) if isinstance(v, Decimal) else v for k, v in dataclasses.asdict(state).items()
    }
    kind = _PERSONAL_AS.get(type(state))
    return sealed_data(kind, plain, key) if kind else plain


def load_state(stream_type: str, data: dict[str, Any]) -> Aggregate:
    """The state of revealed snapshot data."""
    cls = _TYPES[stream_type]
    decimals = {f.name for f in dataclasses.fields(cls) if f.type in (Decimal, "Decimal")}
    values: dict[str, Any] = {k: Decimal(v) if k in decimals else v for k, v in data.items()}
    return cls(**values)
