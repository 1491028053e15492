"""/api/v1/cqrs/handlers/<kinds> (admin): register, list, unregister or disable,
re-enable and audit the handler types a service declares at run time. One controller
for every kind; each service passes its declaration parser and provides its
HandlerRegistry as the `registry` dependency."""

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from litestar import Controller, Request, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, JSONBody, Parameter

from cqrs_contracts.handlers import (
    Declaration,
    HandlerAction,
    HandlerInfo,
    InvalidDeclarationError,
)
from cqrs_http.auth import ADMIN, actor
from cqrs_http.errors import invalid_input
from cqrs_http.handlers.registry import HandlerRegistry, UnknownHandlerError

D = TypeVar("D", bound=Declaration)
# the service's registry (a dataclass instance: Litestar passes it through as it is)
Registered = NamedDependency[HandlerRegistry[D]]


def handler_controller(
    kind: str, kinds: str, parse: Callable[[dict[str, Any]], D]
) -> type[Controller]:
    """The controller at /handlers/`kinds` for `kind` declarations read by `parse`."""

    def not_found(name: str) -> NotFoundException:
        return NotFoundException(f"no {kind} handler {name}")

    class HandlerController(Controller):
        path = f"/api/v1/cqrs/handlers/{kinds}"
        tags = ("handlers",)
        guards = [ADMIN]  # noqa: RUF012 - Litestar's declaration style

        @post("/", summary=f"Register (or replace) a declared {kind} type")
        async def register(
            self,
            request: Request[Any, Any, Any],
            data: JSONBody[dict[str, Any]],
            registry: Registered[D],
        ) -> Response[dict[str, Any]]:
            try:
                decl = parse(data)
            except InvalidDeclarationError as bad:
                fields = [f.model_dump(exclude_none=True) for f in bad.fields]
                raise invalid_input(f"invalid {kind} declaration", fields) from bad
            action = await registry.register(decl, actor(request))
            info = registry.info(decl.name).model_dump(mode="json")
            status = 201 if action == HandlerAction.REGISTER else 200
            return Response({"action": action.value, **info}, status_code=status)

        @get("/", summary=f"Every {kind} type: built-in (with its enabled flag) and declared")
        async def list_all(self, registry: Registered[D]) -> dict[str, Any]:
            await registry.refresh()
            return {"items": [h.model_dump(mode="json") for h in registry.listing()]}

        @get("/audit", summary=f"Who changed which {kind} handler, newest first")
        async def audit(
            self,
            registry: Registered[D],
            name: FromQuery[str | None] = None,
            limit: Annotated[int, Parameter(ge=1, le=500)] = 100,
        ) -> dict[str, Any]:
            entries = await registry.audit(name, limit)
            return {"items": [e.model_dump(mode="json") for e in entries]}

        @get("/{name:str}", summary=f"One {kind} type")
        async def get_one(self, name: FromPath[str], registry: Registered[D]) -> dict[str, Any]:
            await registry.refresh()
            try:
                info: HandlerInfo = registry.info(name)
            except UnknownHandlerError as missing:
                raise not_found(name) from missing
            return info.model_dump(mode="json")

        @delete(
            "/{name:str}",
            status_code=200,
            summary=f"Unregister a declared {kind} type, or disable a built-in one",
        )
        async def remove(
            self,
            request: Request[Any, Any, Any],
            name: FromPath[str],
            registry: Registered[D],
        ) -> dict[str, Any]:
            try:
                action = await registry.remove(name, actor(request))
            except UnknownHandlerError as missing:
                raise not_found(name) from missing
            return {"name": name, "action": action.value}

        @post("/{name:str}/enable", status_code=200, summary="Re-enable a disabled built-in type")
        async def enable(
            self,
            request: Request[Any, Any, Any],
            name: FromPath[str],
            registry: Registered[D],
        ) -> dict[str, Any]:
            try:
                enabled: HandlerInfo = await registry.enable(name, actor(request))
            except UnknownHandlerError as missing:
                raise not_found(name) from missing
            return enabled.model_dump(mode="json")

    HandlerController.__name__ = f"{kind.capitalize()}HandlerController"
    return HandlerController
