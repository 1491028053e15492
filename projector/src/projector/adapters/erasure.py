"""What the read side keeps of a user outside the documents, in Redis, erased when they
are forgotten: every cached document and list page of the read models that show a user's
personal data (a list page holds copies of many documents, and only a document's own
entry is dropped when it changes), and the time-travel answers of their documents."""

from redis.asyncio import Redis

from cqrs_contracts import channels as ch
from cqrs_contracts.read_models import UserOrderReadModel, UserReadModel
from cqrs_read_store.announce import forget_past

# the read models with a user's personal data, each with one document per user id
PERSONAL_READ_MODELS = (UserReadModel.NAME, UserOrderReadModel.NAME)


class RedisErasure:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix

    async def forget_user(self, user_id: str) -> None:
        for name in PERSONAL_READ_MODELS:
            pattern = ch.cached_pattern(self._prefix, name)
            keys = [k async for k in self._redis.scan_iter(match=pattern, count=500)]
            if keys:
                await self._redis.delete(*keys)
            await forget_past(self._redis, self._prefix, name, user_id)
