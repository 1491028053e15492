"""Sealing and revealing personal fields: what is sealed is unreadable without its key,
opens with it, reads as erased once the key is destroyed, and cannot be moved."""

import base64
import json
from datetime import UTC, datetime

import pytest
from cryptography.exceptions import InvalidTag

from cqrs_contracts.events import PERSONAL_FIELDS, UserCreated, UserForgotten, UserUpdated
from cqrs_contracts.privacy import ERASED, personal_fields
from cqrs_event_store.privacy.cipher import data_key, new_material, open_sealed, sealed_key_id
from cqrs_event_store.privacy.master_key import ClaimHasher, MasterKeyError, StaticMasterKey
from cqrs_event_store.privacy.sealing import reveal_fields, seal_fields, sealed_key_ids

MASTER = base64.b64encode(bytes(range(32))).decode()


def test_the_contracts_mark_the_users_name_and_email_as_personal() -> None:
    assert personal_fields(UserCreated) == {"name", "email"}
    assert personal_fields(UserUpdated) == {"name", "email"}
    assert PERSONAL_FIELDS["UserForgotten"] == {"name", "email"}
    assert "OrderCreated" not in PERSONAL_FIELDS
    forgotten = UserForgotten(user_id="u1", updated_at=datetime(2026, 12, 7, tzinfo=UTC))
    assert isinstance(forgotten, UserUpdated)
    assert (forgotten.name, forgotten.email) == (ERASED, ERASED)


def test_a_sealed_field_holds_no_byte_of_its_value_and_opens_with_its_key() -> None:
    key = data_key("k1", "u1", new_material())
    data = {"user_id": "u1", "name": "Ada Lovelace", "email": "ada@example.com", "age": 36}
    sealed = seal_fields(data, {"name", "email"}, key)
    text = json.dumps(sealed)
    assert "Ada" not in text
    assert "ada@example.com" not in text
    assert "u1" in text
    assert sealed["age"] == 36
    assert sealed_key_ids(sealed) == {"k1"}
    assert sealed_key_id(sealed["name"]) == "k1"
    assert reveal_fields(sealed, {"k1": key}) == data


def test_a_destroyed_key_reads_as_erased_and_a_missing_one_is_an_error() -> None:
    key = data_key("k1", "u1", new_material())
    sealed = seal_fields({"name": "Ada", "email": None}, {"name", "email"}, key)
    assert sealed["email"] is None  # nothing to seal
    assert reveal_fields(sealed, {"k1": None}) == {"name": ERASED, "email": None}
    with pytest.raises(KeyError):
        reveal_fields(sealed, {})


def test_erased_and_already_sealed_values_are_left_as_they_are() -> None:
    key = data_key("k1", "u1", new_material())
    once = seal_fields({"name": "Ada", "email": ERASED}, {"name", "email"}, key)
    assert once["email"] == ERASED
    assert seal_fields(once, {"name", "email"}, key) == once


def test_a_sealed_value_does_not_open_in_another_field_or_with_another_key() -> None:
    key, other = data_key("k1", "u1", new_material()), data_key("k1", "u1", new_material())
    sealed = seal_fields({"name": "Ada"}, {"name"}, key)["name"]
    with pytest.raises(InvalidTag):
        open_sealed(key, "email", sealed)
    with pytest.raises(InvalidTag):
        open_sealed(other, "name", sealed)


def test_the_master_key_wraps_for_one_subject_and_must_be_32_bytes() -> None:
    master = StaticMasterKey(MASTER)
    material = new_material()
    wrapped = master.wrap(material, "u1")
    assert master.unwrap(wrapped, "u1") == material
    assert material not in wrapped
    with pytest.raises(InvalidTag):
        master.unwrap(wrapped, "u2")
    with pytest.raises(MasterKeyError):
        StaticMasterKey(base64.b64encode(b"short").decode())
    with pytest.raises(MasterKeyError):
        StaticMasterKey("not base64 at all!")


def test_claim_digests_are_keyed_by_the_master_key() -> None:
    one, same = ClaimHasher(StaticMasterKey(MASTER)), ClaimHasher(StaticMasterKey(MASTER))
    other = ClaimHasher(StaticMasterKey(base64.b64encode(bytes(32)).decode()))
    digest = one.digest("ada@example.com")
    assert digest == same.digest("ada@example.com")
    assert len(digest) == 64
    assert digest != other.digest("ada@example.com")
    assert "ada" not in digest
