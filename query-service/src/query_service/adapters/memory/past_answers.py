"""Past answers in memory: a dict per document, as the Redis adapter keeps a hash."""


class InMemoryPastAnswers:
    def __init__(self) -> None:
        self.hashes: dict[tuple[str, str], dict[str, bytes]] = {}

    async def get(self, read_model: str, doc_id: str, point: str) -> bytes | None:
        return self.hashes.get((read_model, doc_id), {}).get(point)

    async def put(self, read_model: str, doc_id: str, point: str, value: bytes) -> None:
        self.hashes.setdefault((read_model, doc_id), {})[point] = value

    def forget(self, read_model: str, doc_id: str) -> None:
        """What erasure does: every past answer of the document, gone at once."""
        self.hashes.pop((read_model, doc_id), None)
