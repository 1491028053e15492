"""Upcasting: old stored payloads are lifted to the current schema version."""

import pytest

from cqrs_contracts import upcasting
from cqrs_contracts.events import EVENT_TYPES, UserCreated
from cqrs_contracts.upcasting import UnknownSchemaVersionError, upcast

V1_USER_CREATED = {
    "user_id": "u-1",
    "name": "Ada",
    "email": "ada@example.com",
    "created_at": "2024-05-17T12:00:00Z",
}


def test_user_created_is_at_schema_version_2() -> None:
    assert UserCreated.SCHEMA_VERSION == 2


def test_v1_user_created_without_age_upcasts_to_v2_with_age_none() -> None:
    version, data = upcast("UserCreated", 1, V1_USER_CREATED)

    assert version == 2
    assert data == {**V1_USER_CREATED, "age": None}
    assert UserCreated.model_validate(data).age is None


def test_upcasting_leaves_the_stored_payload_untouched() -> None:
    original = dict(V1_USER_CREATED)

    upcast("UserCreated", 1, original)

    assert original == V1_USER_CREATED


def test_an_age_already_present_is_kept() -> None:
    _, data = upcast("UserCreated", 1, {**V1_USER_CREATED, "age": 40})

    assert data["age"] == 40


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_a_payload_at_the_current_version_is_returned_as_is(event_type: str) -> None:
    current = EVENT_TYPES[event_type].SCHEMA_VERSION
    payload = {"any": "thing"}

    assert upcast(event_type, current, payload) == (current, payload)


def test_a_version_newer_than_the_code_raises() -> None:
    with pytest.raises(UnknownSchemaVersionError, match="newer"):
        upcast("UserCreated", 3, V1_USER_CREATED)


def test_a_missing_upcaster_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(upcasting._UPCASTERS, ("UserCreated", 1))

    with pytest.raises(UnknownSchemaVersionError, match="no upcaster"):
        upcast("UserCreated", 1, V1_USER_CREATED)


def test_a_version_below_the_first_upcaster_raises() -> None:
    with pytest.raises(UnknownSchemaVersionError, match="v0 -> v1"):
        upcast("UserCreated", 0, V1_USER_CREATED)


def test_upcasters_chain_one_version_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(UserCreated, "SCHEMA_VERSION", 3)
    monkeypatch.setitem(
        upcasting._UPCASTERS, ("UserCreated", 2), lambda d: {**d, "name": d["name"].upper()}
    )

    version, data = upcast("UserCreated", 1, V1_USER_CREATED)

    assert version == 3
    assert (data["age"], data["name"]) == (None, "ADA")
