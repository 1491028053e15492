"""/handlers/queries (admin): register, list, unregister or disable, re-enable, audit."""

from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, JSONBody, Parameter

from cqrs_contracts.handlers import (
    HandlerAction,
    InvalidDeclarationError,
    parse_query_declaration,
)
from cqrs_http.auth import ADMIN, actor
from cqrs_http.errors import invalid_input
from query_service.queries.registry import QueryRegistry, UnknownHandlerError


def _not_found(name: str) -> NotFoundException:
    return NotFoundException(f"no query handler {name}")


class QueryHandlerController(Controller):
    path = "/api/v1/cqrs/handlers/queries"
    tags = ("handlers",)
    guards = [ADMIN]  # noqa: RUF012 - Litestar's declaration style

    @post("/", summary="Register (or replace) a declared query type")
    async def register(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[dict[str, Any]],
        registry: NamedDependency[QueryRegistry],
    ) -> Response[dict[str, Any]]:
        try:
            decl = parse_query_declaration(data)
        except InvalidDeclarationError as bad:
            fields = [f.model_dump(exclude_none=True) for f in bad.fields]
            raise invalid_input("invalid query declaration", fields) from bad
        action = await registry.register(decl, actor(request))
        body = {"action": action.value, **registry.info(decl.name).model_dump(mode="json")}
        return Response(body, status_code=201 if action == HandlerAction.REGISTER else 200)

    @get("/", summary="Every query type: built-in (with its enabled flag) and declared")
    async def list_all(self, registry: NamedDependency[QueryRegistry]) -> dict[str, Any]:
        await registry.refresh()
        return {"items": [h.model_dump(mode="json") for h in registry.listing()]}

    @get("/audit", summary="Who changed which query handler, newest first")
    async def audit(
        self,
        registry: NamedDependency[QueryRegistry],
        name: FromQuery[str | None] = None,
        limit: Annotated[int, Parameter(ge=1, le=500)] = 100,
    ) -> dict[str, Any]:
        entries = await registry.audit(name, limit)
        return {"items": [e.model_dump(mode="json") for e in entries]}

    @get("/{name:str}", summary="One query type")
    async def get_one(
        self, name: FromPath[str], registry: NamedDependency[QueryRegistry]
    ) -> dict[str, Any]:
        await registry.refresh()
        try:
            return registry.info(name).model_dump(mode="json")
        except UnknownHandlerError as missing:
            raise _not_found(name) from missing

    @delete(
        "/{name:str}",
        status_code=200,
        summary="Unregister a declared query type, or disable a built-in one",
    )
    async def remove(
        self,
        request: Request[Any, Any, Any],
        name: FromPath[str],
        registry: NamedDependency[QueryRegistry],
    ) -> dict[str, Any]:
        try:
            action = await registry.remove(name, actor(request))
        except UnknownHandlerError as missing:
            raise _not_found(name) from missing
        return {"name": name, "action": action.value}

    @post("/{name:str}/enable", status_code=200, summary="Re-enable a disabled built-in type")
    async def enable(
        self,
        request: Request[Any, Any, Any],
        name: FromPath[str],
        registry: NamedDependency[QueryRegistry],
    ) -> dict[str, Any]:
        try:
            return (await registry.enable(name, actor(request))).model_dump(mode="json")
        except UnknownHandlerError as missing:
            raise _not_found(name) from missing
