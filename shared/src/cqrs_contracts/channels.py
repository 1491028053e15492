"""Redis key and channel names shared by the projector (writer) and the query service
(reader). Everything lives under a configurable prefix (`redis.prefix`)."""


def cached_doc(prefix: str, read_model: str, doc_id: str) -> str:
    """A cached read-model document; the projector deletes it on change."""
    return f"{prefix}:cache:{read_model}:{doc_id}"


def cached_pattern(prefix: str, read_model: str) -> str:
    """Every cached document and list page of a read model (SCAN pattern)."""
    return f"{prefix}:cache:{read_model}:*"


def cached_list(prefix: str, read_model: str, generation: str, digest: str) -> str:
    return f"{prefix}:cache:{read_model}:list:{generation}:{digest}"


def past_answers(prefix: str, read_model: str, doc_id: str) -> str:
    """Time-travel answers of one document: ONE hash, a field per point in its past
    (`past_version` or `past_reach`), so erasing a document drops all of them at once."""
    return f"{prefix}:past:{read_model}:{doc_id}"


def past_version(version: int) -> str:
    """The field of the answer as of a version of the document's own stream."""
    return f"v:{version}"


def past_reach(position: int, count: int) -> str:
    """The field of the answer as of a time that reached `count` events of the document,
    the last at `position` (two times that reach the same events share it)."""
    return f"t:{position}:{count}"


def generation(prefix: str, read_model: str) -> str:
    """A counter bumped on every change of the read model; list caches include it."""
    return f"{prefix}:cache:gen:{read_model}"


def read_model_channel(prefix: str, read_model: str) -> str:
    return f"{prefix}:rm:{read_model}"


def document_channel(prefix: str, read_model: str, doc_id: str) -> str:
    return f"{prefix}:rm:{read_model}:{doc_id}"


def rebuilt_channel(prefix: str) -> str:
    return f"{prefix}:rm:rebuilt"


def events_channel(prefix: str) -> str:
    """The event feed: every event once, after the read models reflect it."""
    return f"{prefix}:events"


def applied(prefix: str, stream_id: str) -> str:
    """The highest version of a stream that every read model reflects."""
    return f"{prefix}:applied:{stream_id}"


def cache_stat(prefix: str, outcome: str) -> str:
    return f"{prefix}:stats:cache:{outcome}"
