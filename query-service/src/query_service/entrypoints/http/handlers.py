"""/handlers/queries (admin): register, list, unregister or disable, re-enable, audit."""

from cqrs_contracts.handlers import parse_query_declaration
from cqrs_http.handlers.routes import handler_controller

QueryHandlerController = handler_controller("query", "queries", parse_query_declaration)
