"""Consistency tokens: what a command's answer hands to a later query so the query
side can wait until its read models have caught up (read-your-writes).

A token lists the streams a command wrote and the version each reached, e.g.
`user:3f2a...@4,order:9bc1...@2` (stream type, stream id, version)."""

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class StreamVersion:
    stream_type: str
    stream_id: str
    version: int


class InvalidTokenError(ValueError):
    """A token that does not parse."""


def encode_token(versions: list[StreamVersion]) -> str:
    return ",".join(f"{v.stream_type}:{v.stream_id}@{v.version}" for v in sorted(versions))


def decode_token(token: str) -> list[StreamVersion]:
    versions = []
    for part in filter(None, (p.strip() for p in token.split(","))):
        head, sep, version = part.rpartition("@")
        stream_type, colon, stream_id = head.partition(":")
        if not (
            sep and colon and stream_type and stream_id and version.isascii() and version.isdigit()
        ):
            raise InvalidTokenError(f"malformed consistency token part {part!r}")
        versions.append(StreamVersion(stream_type, stream_id, int(version)))
    if not versions:
        raise InvalidTokenError("empty consistency token")
    return versions
