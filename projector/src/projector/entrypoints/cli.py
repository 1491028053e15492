"""`projector serve | rebuild | dlq list | dlq retry REF`."""

import argparse
import asyncio
import json

from granian import Granian
from granian.constants import Interfaces

from cqrs_contracts.settings import load_settings, load_settings_or_exit
from cqrs_http.logs import configure, dict_config
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


async def _rebuild() -> None:
    from tqdm import tqdm

    from cqrs_contracts.read_models import READ_MODELS
    from cqrs_read_store.announce import forget_cached
    from projector.bootstrap import build, close, make_rebuild

    container = build(load_settings())
    rebuild = make_rebuild(container)
    bar = tqdm(total=0, unit="ev", desc="rebuild", smoothing=0.1)

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    async def switched() -> None:
        bar.close()
        prefix = container.settings.redis.prefix
        await forget_cached(container.redis, prefix, list(READ_MODELS))

    try:
        done = await rebuild.run(progress, switched)
    finally:
        await close(container)
    print(f"rebuilt {len(READ_MODELS)} read models from {done} events; readers switched")


async def _verify() -> int:
    from projector.application.consistency import check
    from projector.bootstrap import build, close

    container = build(load_settings())
    try:
        report = await check(container.views, container.events)
    finally:
        await close(container)
    print(
        json.dumps(
            {
                "consistent": report.consistent,
                "events": report.events,
                "documents": report.documents,
                "missing": report.missing[:20],
                "extra": report.extra[:20],
                "different": report.different[:5],
            },
            indent=2,
            default=str,
        )
    )
    return 0 if report.consistent else 1


def main() -> None:
    parser = argparse.ArgumentParser(prog="projector")
    sub = parser.add_subparsers(dest="what", required=True)
    serve = sub.add_parser("serve", help="consume cqrs-events into the read models (+ admin HTTP)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    sub.add_parser("rebuild", help="rebuild every read model from the event store, no downtime")
    sub.add_parser("verify", help="compare every read model with a clean replay (exit 1 if not)")
    dlq = sub.add_parser("dlq", help="dead letters")
    dlq_sub = dlq.add_subparsers(dest="dlq_what", required=True)
    dlq_sub.add_parser("list")
    retry = dlq_sub.add_parser("retry")
    retry.add_argument("ref", help="partition:offset, as listed")
    args = parser.parse_args()
    # a bad key: one line and status 1, no traceback (the later loads read the same)
    configure(load_settings_or_exit().logging, "projector")
    if args.what == "verify":
        raise SystemExit(asyncio.run(_verify()))
    if args.what == "rebuild":
        asyncio.run(_rebuild())
        return
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
        log_dictconfig=dict_config(settings.logging, "projector"),
    ).serve()
