"""`projector serve | rebuild | dlq list | dlq retry REF`."""

import argparse
import asyncio
import json
import logging

from granian import Granian
from granian.constants import Interfaces

from cqrs_contracts.settings import load_settings
from projector.adapters.dead_letters import read_dead_letters


async def _dlq_list() -> None:
    kafka = load_settings().kafka
    for entry in await read_dead_letters(kafka.bootstrap, kafka.dlq_topic):
        print(
            json.dumps(
                {
                    "ref": entry.ref,
                    "event_id": entry.event_id,
                    "type": entry.event_type,
                    "error": entry.error,
                }
            )
        )


async def _dlq_retry(ref: str) -> None:
    from projector.adapters.dead_letters import redrive
    from projector.bootstrap import build, close

    container = build(load_settings())
    kafka = container.settings.kafka
    entry = next(
        (e for e in await read_dead_letters(kafka.bootstrap, kafka.dlq_topic) if e.ref == ref), None
    )
    if entry is None:
        raise SystemExit(f"no dead letter {ref}")
    await container.broker.connect()
    try:
        await redrive(container.broker, entry, kafka.topic)
    finally:
        await close(container)
    print(f"re-drove {ref} ({entry.event_id})")


def main() -> None:
    parser = argparse.ArgumentParser(prog="projector")
    sub = parser.add_subparsers(dest="what", required=True)
    serve = sub.add_parser("serve", help="consume cqrs-events into the read models (+ admin HTTP)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    dlq = sub.add_parser("dlq", help="dead letters")
    dlq_sub = dlq.add_subparsers(dest="dlq_what", required=True)
    dlq_sub.add_parser("list")
    retry = dlq_sub.add_parser("retry")
    retry.add_argument("ref", help="partition:offset, as listed")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if args.what == "dlq":
        asyncio.run(_dlq_list() if args.dlq_what == "list" else _dlq_retry(args.ref))
        return
    settings = load_settings()
    Granian(
        "projector.entrypoints.http.app:create_app",
        address=args.host or settings.projector.host,
        port=args.port or settings.projector.port,
        workers=1,
        interface=Interfaces.ASGI,
        factory=True,
    ).serve()
