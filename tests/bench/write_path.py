"""Write path: the bare SQL loop that CreateUser through the gateway (driven by wrk, see
tests/bench/wrk.py) is measured against: the same inserts (event, outbox row, command-log
row; one transaction per command) with the same concurrency on the same MariaDB, for the
same fixed duration, in the bench's own Python process."""

import json
import uuid
from datetime import UTC, datetime

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import create_async_engine

from cqrs_event_store import tables as t
from tests.bench import load
from tests.bench.system import BenchSystem


def _user(i: int) -> dict[str, object]:
    return {"name": f"Bench User {i}", "email": f"b{i}-{uuid.uuid4().hex[:8]}@bench.io", "age": 30}


async def baseline(system: BenchSystem, seconds: float, concurrency: int) -> load.Result:
    engine = create_async_engine(system.baseline_mysql_url, pool_size=concurrency, max_overflow=0)

    async def insert_rows(i: int) -> bool:
        now = datetime.now(UTC).replace(tzinfo=None)
        event_id, stream, command_id = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
        data = {"user_id": stream, **_user(i), "created_at": now.isoformat()}
        async with engine.begin() as conn:
            await conn.execute(
                insert(t.events).values(
                    event_id=event_id,
                    stream_type="user",
                    stream_id=stream,
                    version=1,
                    type="UserCreated",
                    schema_version=2,
                    data=data,
                    metadata={},
                    occurred_at=now,
                )
            )
            await conn.execute(
                insert(t.outbox).values(
                    shard=0,
                    event_id=event_id,
                    topic="bench",
                    message_key=stream,
                    payload=json.dumps(data),
                    headers={},
                    created_at=now,
                )
            )
            await conn.execute(
                insert(t.command_log).values(
                    command_id=command_id,
                    type="CreateUser",
                    status="accepted",
                    http_status=200,
                    aggregate_id=stream,
                    request={"type": "CreateUser", "data": data},
                    event_ids=[event_id],
                    received_at=now,
                    duration_ms=0,
                )
            )
        return True

    try:
        return await load.run_for(insert_rows, seconds, concurrency)
    finally:
        await engine.dispose()
