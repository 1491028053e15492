"""POST /commands, GET /commands/{id}, GET /commands (the command log)."""

import time
from datetime import datetime
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, JSONBody, Parameter

from command_service.adapters.log_reader import CommandFilter, LogReader
from command_service.adapters.metrics import count_command
from command_service.application.service import Caller, CommandService
from cqrs_contracts.envelopes import CommandRequest
from cqrs_http.auth import READER, WRITER, Principal, actor
from cqrs_http.errors import parsed
from cqrs_http.logs import bind_command
from cqrs_http.telemetry import traceparent_now

Limit = Annotated[int, Parameter(ge=1, le=100)]


class CommandController(Controller):
    path = "/api/v1/cqrs/commands"
    tags = ("commands",)
    guards = [READER]  # noqa: RUF012 - Litestar's declaration style

    @post("/", status_code=200, summary="Send a command", guards=[WRITER])
    async def send(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[dict[str, Any]],
        commands: NamedDependency[CommandService],
    ) -> Response[dict[str, Any]]:
        command = parsed(CommandRequest, data, "invalid command envelope")
        bind_command(command.id)
        caller = Caller(
            actor=actor(request),
            idempotency_key=request.headers.get("idempotency-key"),
            traceparent=traceparent_now() or request.headers.get("traceparent"),
            admin=_is_admin(request),
        )
        started = time.perf_counter()
        answer = await commands.execute(command, caller)
        seconds = time.perf_counter() - started
        count_command(command.type, command.type in commands.commands, answer, seconds)
        bind_command(answer.command_id)
        return Response(answer.body, status_code=answer.http_status)

    @get(
        "/{command_id:str}",
        summary="Get a command from the log",
        description="Asked of every shard of the event store at once (a command id names"
        " no shard); the first shard that has it answers.",
    )
    async def get_one(
        self, command_id: FromPath[str], reader: NamedDependency[LogReader]
    ) -> dict[str, Any]:
        found = await reader.command(command_id)
        if found is None:
            raise NotFoundException(f"command {command_id} not found")
        return found

    @get(
        "/",
        summary="List commands, newest first",
        description="Every shard's command log merged by (received_at, command_id),"
        " newest first; `next_cursor` is opaque and says where the list is in each shard.",
    )
    async def list_all(
        self,
        *,
        reader: NamedDependency[LogReader],
        type: FromQuery[str | None] = None,
        status: FromQuery[str | None] = None,
        since: FromQuery[datetime | None] = None,
        until: FromQuery[datetime | None] = None,
        limit: Limit = 50,
        cursor: FromQuery[str | None] = None,
    ) -> dict[str, Any]:
        page = await reader.commands(CommandFilter(type, status, since, until), limit, cursor)
        return {"items": page.items, "next_cursor": page.next_cursor}


def _is_admin(request: Request[Any, Any, Any]) -> bool:
    """Whether the caller may send admin-only command types (all may with auth off)."""
    if not request.app.state.get("auth_enabled", False):
        return True
    user = request.scope.get("user")
    return isinstance(user, Principal) and user.can("admin")
