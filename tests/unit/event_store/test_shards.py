"""The id scheme that says which shard holds a stream (cqrs_event_store.shards)."""

import uuid

import pytest

from cqrs_event_store.shards import MAX_SHARDS, ShardMap, UnknownShardError, mint_id, named_shard


@pytest.mark.parametrize("shard", [0, 1, 2, 15, 255, MAX_SHARDS - 1])
def test_a_minted_id_names_its_shard_and_is_a_uuid(shard: int) -> None:
    minted = mint_id(shard)
    parsed = uuid.UUID(minted)
    assert parsed.version == 8
    assert parsed.variant == uuid.RFC_4122
    assert minted[14:18] == f"8{shard:03x}"
    assert named_shard(minted) == shard


def test_minted_ids_are_random() -> None:
    assert len({mint_id(1) for _ in range(1000)}) == 1000


@pytest.mark.parametrize(
    "other", [str(uuid.uuid4()), str(uuid.uuid1()), "user-42", "", "x" * 36, str(uuid.UUID(int=0))]
)
def test_every_other_id_lives_on_the_home_shard(other: str) -> None:
    assert named_shard(other) == 0


def test_an_id_naming_a_shard_beyond_the_store_is_refused() -> None:
    stores = ShardMap(2)
    assert stores.of(mint_id(1)) == 1
    assert not stores.has(mint_id(2))
    with pytest.raises(UnknownShardError, match="names shard 2; this event store has 2"):
        stores.of(mint_id(2))


def test_placement_by_seed_is_stable_and_spreads_without_one() -> None:
    stores = ShardMap(3)
    assert len({stores.place("the same key") for _ in range(20)}) == 1
    assert {stores.place(f"key {n}") for n in range(200)} == {0, 1, 2}
    assert [stores.place() for _ in range(6)] == [0, 1, 2, 0, 1, 2]


def test_a_one_shard_store_mints_plain_uuid4_as_before_sharding() -> None:
    one = ShardMap(1)
    assert uuid.UUID(one.mint(0)).version == 4
    assert one.place("any") == 0
    with pytest.raises(ValueError, match="not one of this store's 1"):
        one.mint(1)
