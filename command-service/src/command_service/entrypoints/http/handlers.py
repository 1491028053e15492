"""/handlers/commands (admin): register, list, unregister or disable, re-enable, audit."""

from cqrs_contracts.handlers import parse_command_declaration
from cqrs_http.handlers.routes import handler_controller

CommandHandlerController = handler_controller("command", "commands", parse_command_declaration)
