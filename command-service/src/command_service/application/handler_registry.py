"""The command-service's part of the handler registry (cqrs_http.handlers): its compile
hook, which turns the declared commands and the disabled built-ins into the command
types the service accepts."""

from command_service.application.command_handlers import BUILT_IN, CommandSpec
from command_service.application.declared_commands import declared_spec
from command_service.application.service import CommandService
from cqrs_contracts.handlers import CommandDeclaration
from cqrs_http.handlers.registry import HandlerRegistry
from cqrs_http.handlers.store import HandlerStore


def command_registry(
    store: HandlerStore, service: CommandService
) -> HandlerRegistry[CommandDeclaration]:
    def compile_commands(declared: dict[str, CommandDeclaration], disabled: frozenset[str]) -> None:
        commands: dict[str, CommandSpec] = {
            name: spec for name, spec in BUILT_IN.items() if name not in disabled
        }
        commands.update((name, declared_spec(decl)) for name, decl in declared.items())
        service.use(commands, disabled)

    return HandlerRegistry("command", store, CommandDeclaration, BUILT_IN, compile_commands)
