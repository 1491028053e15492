"""A declared command as a CommandSpec: checked by its JSON Schema, handled by loading
its stream and deciding as the declaration says. It then runs through the same
validation, idempotency, event store, outbox and command log as a built-in one."""

from typing import Any

from pydantic import ConfigDict

from command_service.application.command_handlers import CommandSpec
from command_service.application.ports import WriteSession
from command_service.domain.decisions import Context, Decision
from command_service.domain.declared import StreamFacts, decide_declared, stream_id_of
from cqrs_contracts.commands import CommandData
from cqrs_contracts.handlers import CommandDeclaration, data_checker


class DeclaredData(CommandData):
    """The data of a declared command, as sent (its schema has checked it)."""

    model_config = ConfigDict(extra="allow", str_strip_whitespace=True)


def declared_spec(decl: CommandDeclaration) -> CommandSpec:
    async def handle(session: WriteSession, command: Any, ctx: Context) -> Decision:
        data = command.model_dump()
        stream_id = stream_id_of(decl, data, ctx)
        await session.load(decl.stream_type, stream_id)
        found = StreamFacts(session.stream_type_of(stream_id), session.version_of(stream_id))
        return decide_declared(decl, data, found, ctx)

    target = None if decl.id_field is None else (decl.stream_type, decl.id_field)
    return CommandSpec(DeclaredData, handle, target, check=data_checker(decl))
