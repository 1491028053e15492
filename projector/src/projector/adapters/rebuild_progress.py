"""The progress of the last rebuild started over HTTP, one document beside the rebuild
switchboard (`projection_control`, `_id: "rebuild_job"`), so any projector replica can
answer for it, whichever one runs it."""

from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from projector.adapters.rebuild_control import CONTROL

JOB = "rebuild_job"


class RebuildProgress:
    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self._db = db

    async def save(self, job: dict[str, Any]) -> None:
        await self._db[CONTROL].replace_one({"_id": JOB}, job, upsert=True)

    async def load(self) -> dict[str, Any] | None:
        return await self._db[CONTROL].find_one({"_id": JOB}, {"_id": 0})
