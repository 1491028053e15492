"""Aggregate state <-> JSON, for the snapshots table."""

import dataclasses
from decimal import Decimal
from typing import Any

from command_service.domain.model import Aggregate, Order, Payment, User

_TYPES: dict[str, type[User] | type[Order] | type[Payment]] = {
    "user": User,
    "order": Order,
    "payment": Payment,
}


def dump_state(state: Aggregate) -> dict[str, Any]:
    return {
        k: str(v) if isinstance(v, Decimal) else v for k, v in dataclasses.asdict(state).items()
    }


def load_state(stream_type: str, data: dict[str, Any]) -> Aggregate:
    cls = _TYPES[stream_type]
    decimals = {f.name for f in dataclasses.fields(cls) if f.type in (Decimal, "Decimal")}
    values: dict[str, Any] = {k: Decimal(v) if k in decimals else v for k, v in data.items()}
    return cls(**values)
