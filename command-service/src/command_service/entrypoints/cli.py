"""`command-service serve | relay | migrate | privacy encrypt-existing`."""

import argparse
import asyncio
import contextlib

from granian import Granian
from granian.constants import Interfaces

from command_service.adapters.encrypt_existing import encrypt_existing
from command_service.adapters.write_keys import WriteKeys
from command_service.bootstrap import build, make_engine
from command_service.migrations import upgrade_to_head
from cqrs_contracts.settings import Settings, load_settings, load_settings_or_exit
from cqrs_event_store.shard_routers import shard_urls
from cqrs_http.logs import configure, dict_config


async def _relay_forever() -> None:
    container = build(load_settings())
    await container.broker.connect()
    try:
        await container.run_relays()
    finally:
        await container.broker.stop()
        for shard in container.shards:
            await shard.engine.dispose()


async def _encrypt_existing(settings: Settings, batch: int) -> None:
    keys = WriteKeys.from_settings(settings.privacy)
    for number, url in enumerate(shard_urls(settings.database.mysql)):
        engine = make_engine(settings, url)
        try:
            counts = await encrypt_existing(engine, keys, batch)
        finally:
            await engine.dispose()
        print(f"shard {number}: " + " ".join(f"{table}={n}" for table, n in counts.items()))


def main() -> None:
    parser = argparse.ArgumentParser(prog="command-service")
    sub = parser.add_subparsers(dest="what", required=True)
    serve = sub.add_parser("serve", help="run the HTTP API (with the in-process relay)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int)
    sub.add_parser("relay", help="run only the outbox relay")
    sub.add_parser("migrate", help="apply the event-store migrations")
    privacy = sub.add_parser("privacy", help="personal data: crypto-shredding tasks")
    task = privacy.add_subparsers(dest="task", required=True)
    encrypt = task.add_parser(
        "encrypt-existing", help="seal the personal data written before sealing (idempotent)"
    )
    encrypt.add_argument("--batch", type=int, default=500, help="rows per transaction")
    args = parser.parse_args()
    settings = load_settings_or_exit()  # a bad key: one line and status 1, no traceback
    configure(settings.logging, "command-service")
    if args.what == "migrate":
        for number, url in enumerate(shard_urls(settings.database.mysql)):
            upgrade_to_head(url)
            print(f"shard {number}: migrated")
    elif args.what == "privacy":
        asyncio.run(_encrypt_existing(settings, args.batch))
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
