"""`query-service serve`."""

import argparse

from granian import Granian
from granian.constants import Interfaces

from cqrs_contracts.settings import load_settings_or_exit
from cqrs_http.logs import configure, dict_config


def main() -> None:
    parser = argparse.ArgumentParser(prog="query-service")
    sub = parser.add_subparsers(dest="what", required=True)
    serve = sub.add_parser("serve", help="run the read API and the /ws WebSocket")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int)
    args = parser.parse_args()
    settings = load_settings_or_exit()  # a bad key: one line and status 1, no traceback
    configure(settings.logging, "query-service")
    qs = settings.query_service
    Granian(
        "query_service.entrypoints.http.app:create_app",
        address=args.host or qs.host,
        port=args.port or qs.port,
        workers=args.workers or qs.workers,
        interface=Interfaces.ASGI,
        factory=True,
        log_dictconfig=dict_config(settings.logging, "query-service"),
    ).serve()
