"""Webhook event handlers (admin only): register, list with delivery stats, remove by
event type or by id, rotate secrets (add one, retire one); dead-lettered deliveries (list,
re-drive) and the audit trail."""

from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, post
from litestar.di import NamedDependency, Provide
from litestar.exceptions import ClientException, NotFoundException
from litestar.params import FromPath, FromQuery, JSONBody, Parameter

from cqrs_contracts.webhooks import EventHandlerRegistration, SecretAddition
from cqrs_http.auth import ADMIN, actor
from cqrs_http.errors import invalid_input, parsed
from projector.bootstrap import Container
from projector.webhooks.adapters.registry import TooManySecretsError
from projector.webhooks.adapters.targets import ForbiddenTargetError
from projector.webhooks.application.handlers import mask
from projector.webhooks.bootstrap import Webhooks

Limit = Annotated[int, Parameter(ge=1, le=1000)]


def _webhooks(container: NamedDependency[Container]) -> Webhooks:
    return container.webhooks


class EventHandlerController(Controller):
    path = "/api/v1/cqrs/handlers/events"
    tags = ("handlers",)
    guards = [ADMIN]  # noqa: RUF012 - Litestar's declaration style
    dependencies = {"webhooks": Provide(_webhooks, sync_to_thread=False)}  # noqa: RUF012

    @post("/", status_code=201, summary="Register a webhook for event types (or *)")
    async def register(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[dict[str, Any]],
        webhooks: NamedDependency[Webhooks],
    ) -> Response[dict[str, Any]]:
        registration = parsed(EventHandlerRegistration, data, "invalid event handler")
        try:
            await webhooks.sender.policy.check_url(registration.url)
        except ForbiddenTargetError as refused:
            fields = [{"field": "url", "message": str(refused), "rule": "public_address"}]
            raise invalid_input("invalid event handler", fields) from refused
        handler = await webhooks.registry.register(registration, actor(request))
        body = {
            "id": handler.id,
            "name": handler.name,
            "event_types": list(handler.event_types),
            "url": handler.url,
            "secret": mask(handler.secrets[0]),
            "created_at": handler.created_at.isoformat(),
            "created_by": handler.created_by,
        }
        return Response(body, status_code=201)

    @get("/", summary="List webhook handlers with their delivery stats")
    async def list_all(self, webhooks: NamedDependency[Webhooks]) -> dict[str, Any]:
        views = await webhooks.registry.views()
        return {"items": [v.model_dump(mode="json") for v in views]}

    @delete("/{event_type:str}", status_code=200, summary="Remove the handlers of an event type")
    async def remove_type(
        self,
        request: Request[Any, Any, Any],
        event_type: FromPath[str],
        webhooks: NamedDependency[Webhooks],
    ) -> dict[str, Any]:
        changed = await webhooks.registry.unsubscribe(event_type, actor(request))
        if not changed["removed"] and not changed["narrowed"]:
            raise NotFoundException(f"no event handler for {event_type}")
        return {"event_type": event_type, **changed}

    @delete("/by-id/{handler_id:str}", status_code=200, summary="Remove one handler")
    async def remove_one(
        self,
        request: Request[Any, Any, Any],
        handler_id: FromPath[str],
        webhooks: NamedDependency[Webhooks],
    ) -> dict[str, Any]:
        if await webhooks.registry.unregister(handler_id, actor(request)) is None:
            raise NotFoundException(f"no event handler {handler_id}")
        return {"removed": [handler_id]}

    @post(
        "/by-id/{handler_id:str}/secrets",
        status_code=201,
        summary="Add a secret: deliveries are signed with it too until one is retired",
    )
    async def add_secret(
        self,
        request: Request[Any, Any, Any],
        handler_id: FromPath[str],
        data: JSONBody[dict[str, Any]],
        webhooks: NamedDependency[Webhooks],
    ) -> Response[dict[str, Any]]:
        addition = parsed(SecretAddition, data, "invalid secret")
        try:
            n = await webhooks.registry.add_secret(handler_id, addition.secret, actor(request))
        except TooManySecretsError as full:
            raise ClientException(str(full), status_code=409) from full
        if n is None:
            raise NotFoundException(f"no event handler {handler_id}")
        body = {"handler_id": handler_id, "n": n, "secret": mask(addition.secret)}
        return Response(body, status_code=201)

    @delete(
        "/by-id/{handler_id:str}/secrets/{n:int}",
        status_code=200,
        summary="Retire a secret: deliveries are no longer signed with it",
    )
    async def retire_secret(
        self,
        request: Request[Any, Any, Any],
        handler_id: FromPath[str],
        n: FromPath[int],
        webhooks: NamedDependency[Webhooks],
    ) -> dict[str, Any]:
        retired = await webhooks.registry.retire_secret(handler_id, n, actor(request))
        if retired is None:
            raise NotFoundException(f"no secret {n} of event handler {handler_id}")
        if not retired:
            message = "the last active secret cannot be retired: add another first"
            raise ClientException(message, status_code=409)
        return {"handler_id": handler_id, "retired": n}

    @post(
        "/dead-letters/{dead_letter_id:str}/retry",
        status_code=200,
        summary="Deliver a dead letter again (one attempt, numbered 1); removed if delivered",
    )
    async def retry_dead_letter(
        self, dead_letter_id: FromPath[str], webhooks: NamedDependency[Webhooks]
    ) -> dict[str, Any]:
        found = await webhooks.outcomes.dead_letter(dead_letter_id)
        if found is None:
            raise NotFoundException(f"no dead letter {dead_letter_id}")
        handler_id, envelope = found
        await webhooks.registry.reload()
        handler = webhooks.registry.current(handler_id)
        if handler is None:
            raise ClientException(
                f"event handler {handler_id} is no longer registered", status_code=409
            )
        outcome = await webhooks.delivery.redeliver(handler, envelope)
        if outcome.delivered:
            await webhooks.outcomes.forget(dead_letter_id)
        else:
            await webhooks.outcomes.redrive_failed(dead_letter_id, outcome.error or "")
        return {
            "id": dead_letter_id,
            "delivered": outcome.delivered,
            "attempts": outcome.attempts,
            "last_error": outcome.error,
        }

    @get("/dead-letters", summary="Deliveries given up after the last attempt, newest first")
    async def dead_letters(
        self,
        webhooks: NamedDependency[Webhooks],
        handler_id: FromQuery[str | None] = None,
        limit: FromQuery[Limit] = 100,
    ) -> dict[str, Any]:
        found = await webhooks.outcomes.dead_letters(limit, handler_id)
        return {"items": [d.model_dump(mode="json") for d in found]}

    @get("/audit", summary="Who registered or removed which handler, newest first")
    async def audit(
        self, webhooks: NamedDependency[Webhooks], limit: FromQuery[Limit] = 100
    ) -> dict[str, Any]:
        entries = await webhooks.registry.audit_trail(limit)
        return {"items": [e.model_dump(mode="json") for e in entries]}
