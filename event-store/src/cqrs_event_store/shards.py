"""Which shard of the event store holds a stream: its id says so (pure, no I/O).

The event store can be split over N MariaDB servers by owning user: a user's stream and
the streams of their orders and payments sit on one shard, so every command writes one
shard, in one transaction. Shard 0, the home shard, is `database.mysql`; shards 1.. are
`database.mysql.shards`, in order: a shard's number is its place in that list.

The id scheme: an id the command-service mints on shard s > 0 is a UUID of version 8
whose third group is "8" and s in three hex digits (`…-8001-…` lives on shard 1), the
rest random; on shard 0 it mints plain UUID4s, as before sharding. A new user is placed
on a shard; every other new id is minted beside the id it belongs to (`id_beside`): an
order's beside its user's, a payment's beside its order's, an event's beside its
stream's, a data key's beside its subject's. Every id that is not such a UUID8 (UUID4s,
ids an import or a declared command chose, any text) lives on shard 0, so a store that
had one shard keeps every stream where it is.

Why ids and not a directory table: any process (command-service, projector, query
time travel) finds a stream's shard from the id alone, with no lookup to keep
consistent with the shard it names, no extra round trip and no server every command
depends on. What it costs: a stream never moves to another shard (a new shard takes new
users; README, "Scaling")."""

import hashlib
import itertools
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

HOME = 0
MAX_SHARDS = 0x1000  # three hex digits
_VERSION = 8


class UnknownShardError(ValueError):
    """An id names a shard this store does not have."""

    def __init__(self, stream_id: str, shard: int, count: int) -> None:
        super().__init__(f"id {stream_id} names shard {shard}; this event store has {count}")
        self.stream_id = stream_id
        self.shard = shard


def named_shard(stream_id: str) -> int:
    """The shard an id names: its number for a version-8 UUID of this scheme, else 0."""
    if len(stream_id) != 36 or stream_id[14] != "8" or stream_id[8] != "-":
        return HOME
    try:
        parsed = uuid.UUID(stream_id)
    except ValueError:
        return HOME
    if parsed.version != _VERSION or parsed.variant != uuid.RFC_4122:
        return HOME
    return (parsed.int >> 64) & 0xFFF


def mint_id(shard: int) -> str:
    """A new random id that names `shard` (a UUID4 for shard 0)."""
    if not 0 <= shard < MAX_SHARDS:
        raise ValueError(f"shard {shard} is outside 0..{MAX_SHARDS - 1}")
    if shard == HOME:
        return str(uuid.uuid4())
    value = uuid.uuid4().int
    value &= ~(0xFFFF << 64)  # the version nibble and the 12 bits after it
    value |= (_VERSION << 76) | (shard << 64)
    return str(uuid.UUID(int=value))


def id_beside(other_id: str) -> str:
    """A new id on the shard that holds `other_id`."""
    return mint_id(named_shard(other_id))


@dataclass
class ShardMap:
    """The shards of one event store: where a stream is, and where a new user goes."""

    count: int = 1
    _turn: Iterator[int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not 1 <= self.count <= MAX_SHARDS:
            raise ValueError(f"an event store has 1..{MAX_SHARDS} shards, not {self.count}")
        self._turn = itertools.cycle(range(self.count))

    def of(self, stream_id: str) -> int:
        """The shard holding `stream_id`; UnknownShardError when it names one beyond."""
        shard = named_shard(stream_id)
        if shard >= self.count:
            raise UnknownShardError(stream_id, shard, self.count)
        return shard

    def has(self, stream_id: str) -> bool:
        """Whether `stream_id` can be on this store (it names no shard beyond)."""
        return named_shard(stream_id) < self.count

    def place(self, seed: str | None = None) -> int:
        """The shard for a new user: by `seed` when given (the same seed, e.g. an
        idempotency key, always gets the same shard), else each shard in turn."""
        if self.count == 1:
            return HOME
        if seed is None:
            return next(self._turn)
        digest = hashlib.blake2b(seed.encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big") % self.count

    def mint(self, shard: int) -> str:
        """A new id on `shard` (one of this store's)."""
        if not 0 <= shard < self.count:
            raise ValueError(f"shard {shard} is not one of this store's {self.count}")
        return mint_id(shard)
