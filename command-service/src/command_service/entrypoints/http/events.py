"""GET /events/{id}, GET /events (filters, cursor), POST /events (admin append).

The event store may be split over shards; GET /events lists them all (see `list_all`),
GET /events/{id} reads the shard the id names."""

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, JSONBody, Parameter

from command_service.adapters.log_reader import EventFilter, LogReader
from command_service.adapters.metrics import count_events
from command_service.application.event_import import EventImporter
from command_service.application.service import RejectedError
from cqrs_contracts.envelopes import AppendEventRequest
from cqrs_http.auth import ADMIN, READER, actor
from cqrs_http.errors import parsed

Limit = Annotated[int, Parameter(ge=1, le=100)]


class EventController(Controller):
    path = "/api/v1/cqrs/events"
    tags = ("events",)
    guards = [READER]  # noqa: RUF012 - Litestar's declaration style

    @post(
        "/",
        status_code=201,
        summary="Append an event to a stream (admin: import, repair)",
        guards=[ADMIN],
    )
    async def append(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[dict[str, Any]],
        importer: NamedDependency[EventImporter],
    ) -> Response[dict[str, Any]]:
        body = parsed(AppendEventRequest, data, "invalid event")
        try:
            stored = await importer.append(body, actor(request))
        except RejectedError as rejected:
            return Response(rejected.body, status_code=rejected.status)
        count_events((stored,))
        return Response(stored.model_dump(mode="json"), status_code=201)

    @get("/{event_id:str}", summary="Get an event")
    async def get_one(
        self, event_id: FromPath[str], reader: NamedDependency[LogReader]
    ) -> dict[str, Any]:
        found = await reader.event(event_id)
        if found is None:
            raise NotFoundException(f"event {event_id} not found")
        return found.model_dump(mode="json")

    @get(
        "/",
        summary="List events: each shard in position order, shards merged by time",
        description=(
            "Order of a page: each shard's events in their position order, the shards"
            " merged by (occurred_at, shard, position); with one shard, position order."
            " Every item has its `shard`. `from_position`/`to_position` are positions of"
            " each shard (positions of different shards are not comparable), applied to"
            " every shard; with one shard they are the store's positions. An"
            " `aggregate_id` reads its stream's shard only. `next_cursor` is opaque: it"
            " says where the list is in every shard, so following it gives each event"
            " once, with no gap, while events are appended."
        ),
    )
    async def list_all(
        self,
        *,
        reader: NamedDependency[LogReader],
        type: FromQuery[str | None] = None,
        aggregate_id: FromQuery[str | None] = None,
        from_position: Annotated[int | None, Parameter(ge=0)] = None,
        to_position: Annotated[int | None, Parameter(ge=0)] = None,
        limit: Limit = 50,
        cursor: FromQuery[str | None] = None,
    ) -> dict[str, Any]:
        where = EventFilter(type, aggregate_id, from_position, to_position)
        page = await reader.events(where, limit, cursor)
        return {"items": page.items, "next_cursor": page.next_cursor}
