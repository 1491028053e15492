"""`query-service serve`."""

import argparse
import logging

from granian import Granian
from granian.constants import Interfaces

from cqrs_contracts.settings import load_settings


def main() -> None:
    parser = argparse.ArgumentParser(prog="query-service")
    sub = parser.add_subparsers(dest="what", required=True)
    serve = sub.add_parser("serve", help="run the read API and the /ws WebSocket")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    qs = load_settings().query_service
    Granian(
        "query_service.entrypoints.http.app:create_app",
        address=args.host or qs.host,
        port=args.port or qs.port,
        workers=args.workers or qs.workers,
        interface=Interfaces.ASGI,
        factory=True,
    ).serve()
