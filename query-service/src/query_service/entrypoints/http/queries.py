"""POST /queries (the eight query types), GET /queries/{id}, GET /queries (the query log)."""

import time
from datetime import datetime
from typing import Annotated, Any

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, JSONBody, Parameter

from cqrs_contracts.queries import QueryRequest
from cqrs_http.auth import READER, actor
from cqrs_http.errors import parsed
from query_service.adapters.metrics import OTHER, WAITS, count_query, outcome_of
from query_service.adapters.query_log import QueryLog
from query_service.queries.service import QueryService


class QueryController(Controller):
    path = "/api/v1/cqrs/queries"
    tags = ("queries",)
    guards = [READER]  # noqa: RUF012 - Litestar's declaration style

    @post("/", status_code=200, summary="Run a query")
    async def run(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[dict[str, Any]],
        queries: NamedDependency[QueryService],
    ) -> Response[bytes]:
        body = parsed(QueryRequest, data, "invalid query envelope")
        headers = request.headers
        started = time.perf_counter()
        answer = await queries.run(
            body,
            actor=actor(request),
            token=headers.get("x-consistency-token"),
            allow_stale=headers.get("x-allow-stale", "").lower() == "true",
        )
        kind = body.type if queries.knows(body.type) else OTHER
        stale = "X-Consistency" in answer.headers
        count_query(kind, outcome_of(answer.status, stale), time.perf_counter() - started)
        if answer.waited is not None:
            WAITS[answer.waited].inc()
        return Response(
            answer.content,
            status_code=answer.status,
            headers=answer.headers,
            media_type=MediaType.JSON,
        )

    @get("/{query_id:str}", summary="One query from the log")
    async def get_one(
        self, query_id: FromPath[str], query_log: NamedDependency[QueryLog]
    ) -> dict[str, Any]:
        await query_log.flush()  # this replica's queries so far are in the store
        entry = await query_log.get(query_id)
        if entry is None:
            raise NotFoundException(f"query {query_id} not found")
        return entry

    @get("/", summary="The query log, newest first")
    async def list_all(
        self,
        *,
        query_log: NamedDependency[QueryLog],
        type: FromQuery[str | None] = None,
        since: FromQuery[datetime | None] = None,
        limit: Annotated[int, Parameter(ge=1, le=100)] = 50,
        cursor: FromQuery[str | None] = None,
    ) -> dict[str, Any]:
        await query_log.flush()
        items, next_cursor = await query_log.page(type, since, limit, cursor)
        return {"items": items, "next_cursor": next_cursor}
