"""How far behind the primary a replica is, in seconds, from GTID positions alone.

MariaDB names every committed transaction `domain-server-sequence`; the primary's
`@@gtid_binlog_pos` and a replica's `@@gtid_slave_pos` list the newest one per domain
(e.g. "0-1-1234"), and any user may read them. `LagClock` remembers when it first saw
the primary reach each position; a replica that has not reached a position is behind by
the time since that position was first seen (within one probe interval: a transaction is
"seen" at the first probe after its commit). Pure: the caller gives the clock's readings."""

from collections import deque
from dataclasses import dataclass, field

GtidPosition = dict[int, int]  # domain id -> the newest sequence number applied in it


class BadGtidError(ValueError):
    """A GTID position that does not parse."""


def parse_gtid(text: str | None) -> GtidPosition:
    """ "0-1-1234,1-2-7" -> {0: 1234, 1: 7}; "" or None (nothing yet) -> {}."""
    position: GtidPosition = {}
    for part in filter(None, (p.strip() for p in (text or "").split(","))):
        pieces = part.split("-")
        if len(pieces) != 3 or not all(p.isdigit() for p in pieces):
            raise BadGtidError(f"not a GTID: {part!r}")
        domain, _server, sequence = (int(p) for p in pieces)
        position[domain] = max(sequence, position.get(domain, 0))
    return position


def has_reached(replica: GtidPosition, target: GtidPosition) -> bool:
    """Whether `replica` has applied everything up to `target`, in every domain."""
    return all(replica.get(domain, 0) >= seq for domain, seq in target.items())


@dataclass
class LagClock:
    """The primary's positions over time; a replica's lag at a moment."""

    keep: int = 10_000  # samples kept at most (the oldest go first)
    _seen: deque[tuple[float, GtidPosition]] = field(default_factory=deque)

    def observe(self, at: float, primary: GtidPosition) -> None:
        """The primary's position as read at time `at` (kept only when it moved)."""
        if self._seen and self._seen[-1][1] == primary:
            return
        self._seen.append((at, primary))
        while len(self._seen) > self.keep:
            self._seen.popleft()

    def lag(self, now: float, replica: GtidPosition) -> float:
        """Seconds since the primary first reached a position `replica` has not (0: it
        has everything the primary had at the last observation)."""
        for at, primary in self._seen:
            if not has_reached(replica, primary):
                return max(now - at, 0.0)
        return 0.0

    def forget_before(self, replicas: list[GtidPosition]) -> None:
        """Drop the samples every replica has reached but the newest one."""
        while len(self._seen) > 1 and all(has_reached(r, self._seen[0][1]) for r in replicas):
            self._seen.popleft()
