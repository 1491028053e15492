"""`command-service serve | relay | migrate`."""

import argparse
import asyncio
import contextlib

from granian import Granian
from granian.constants import Interfaces

from command_service.bootstrap import build
from command_service.migrations import upgrade_to_head
from cqrs_contracts.settings import load_settings, load_settings_or_exit
from cqrs_http.logs import configure, dict_config


async def _relay_forever() -> None:
    container = build(load_settings())
    await container.broker.connect()
    try:
        await container.relay.run()
    finally:
        await container.broker.stop()
        await container.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(prog="command-service")
    sub = parser.add_subparsers(dest="what", required=True)
    serve = sub.add_parser("serve", help="run the HTTP API (with the in-process relay)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int)
    sub.add_parser("relay", help="run only the outbox relay")
    sub.add_parser("migrate", help="apply the event-store migrations")
    args = parser.parse_args()
    settings = load_settings_or_exit()  # a bad key: one line and status 1, no traceback
    configure(settings.logging, "command-service")
    if args.what == "migrate":
        upgrade_to_head(settings.database.mysql.url())
    elif args.what == "relay":
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_relay_forever())
    else:
        cs = settings.command_service
        Granian(
            "command_service.entrypoints.http.app:create_app",
            address=args.host or cs.host,
            port=args.port or cs.port,
            workers=args.workers or cs.workers,
            interface=Interfaces.ASGI,
            factory=True,
            log_dictconfig=dict_config(settings.logging, "command-service"),
        ).serve()
