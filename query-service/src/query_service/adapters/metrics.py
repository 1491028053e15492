"""The query-service's Prometheus metrics (README, "Metrics"): queries by type and
outcome and their latency, cache hits and misses, consistency waits by outcome, WebSocket
clients and frames sent or dropped.

Every labelled child is looked up once (`Children`): a query costs a dict lookup and an
increment per metric, no lock but prometheus_client's own. The same counts of queries
by type and outcome are kept as plain numbers for the JSON stats (`query_counts`)."""

from typing import Any

from prometheus_client import Counter, Gauge, Histogram

from cqrs_http.metrics import Children

OTHER = "other"  # the type label of a query type this service does not know
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)

QUERIES = Children(
    Counter(
        "cqrs_queries",
        "Queries answered, by type and outcome (ok, stale, not_found, rejected, timeout, failed)",
        ("type", "outcome"),
    )
)
QUERY_SECONDS = Children(
    Histogram(
        "cqrs_query_duration_seconds",
        "Time to answer a query (consistency wait included), by type",
        ("type",),
        buckets=BUCKETS,
    )
)
CACHE = Children(
    Counter("cqrs_cache_lookups", "Read-cache lookups, by result (hit, miss)", ("result",))
)
CACHE_HIT, CACHE_MISS = CACHE["hit"], CACHE["miss"]
WAITS = Children(
    Counter(
        "cqrs_consistency_waits",
        "Queries that waited for a consistency token, by outcome (reached, stale, timeout)",
        ("outcome",),
    )
)
WS_CLIENTS = Gauge("cqrs_ws_clients", "WebSocket clients connected to /ws")
WS_FRAMES_SENT = Counter("cqrs_ws_frames_sent", "Frames sent to WebSocket clients")
WS_DROPPED = Children(
    Counter(
        "cqrs_ws_frames_dropped",
        "Frames not delivered: backlog (a client's backlog was full, older changes were "
        "dropped: once per full backlog) or send_timeout (a frame not taken in time; the "
        "client was closed)",
        ("reason",),
    )
)

_counts: dict[tuple[str, str], int] = {}  # (type, outcome) -> queries, for the JSON stats


def outcome_of(status: int, stale: bool) -> str:
    if status == 200:
        return "stale" if stale else "ok"
    return {404: "not_found", 400: "rejected", 422: "rejected", 504: "timeout"}.get(
        status, "failed"
    )


def count_query(query_type: str, outcome: str, seconds: float) -> None:
    key = (query_type, outcome)
    QUERIES[key].inc()
    QUERY_SECONDS[query_type].observe(seconds)
    _counts[key] = _counts.get(key, 0) + 1


def query_counts() -> dict[str, Any]:
    """{"total": n, "by_type": {type: {outcome: n}}} of this process's queries."""
    by_type: dict[str, dict[str, int]] = {}
    for (kind, outcome), n in sorted(_counts.items()):
        by_type.setdefault(kind, {})[outcome] = n
    return {"total": sum(_counts.values()), "by_type": by_type}
