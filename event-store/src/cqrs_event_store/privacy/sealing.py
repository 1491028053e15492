"""Sealing and revealing the personal fields of a payload (an event's data, a snapshot's
state, a logged request): pure, given the keys. Only top-level fields are personal."""

from collections.abc import Collection, Mapping
from typing import Any

from cqrs_contracts.privacy import ERASED
from cqrs_event_store.privacy.cipher import DataKey, is_sealed, open_sealed, seal, sealed_key_id


def seal_fields(data: Mapping[str, Any], fields: Collection[str], key: DataKey) -> dict[str, Any]:
    """`data` with each of `fields` it holds sealed by `key` (None, the erased placeholder
    and values already sealed stay as they are)."""
    return {
        name: seal(key, name, value)
        if name in fields and value is not None and value != ERASED and not is_sealed(value)
        else value
        for name, value in data.items()
    }


def sealed_key_ids(data: Mapping[str, Any]) -> set[str]:
    """The ids of the keys that sealed values of `data` name."""
    return {k for v in data.values() if (k := sealed_key_id(v)) is not None}


def reveal_fields(data: Mapping[str, Any], keys: Mapping[str, DataKey | None]) -> dict[str, Any]:
    """`data` with every sealed value opened by its key from `keys`, or the erased
    placeholder where the key is destroyed (None). A key id missing from `keys` raises
    KeyError: the caller looked the keys up first."""
    revealed = dict(data)
    for name, value in data.items():
        key_id = sealed_key_id(value)
        if key_id is None:
            continue
        key = keys[key_id]
        revealed[name] = ERASED if key is None else open_sealed(key, name, value)
    return revealed
