"""A TCP proxy in front of a real dependency (MariaDB, Redis, Kafka, the read store) that a
test can make silent or take away: `forward` passes bytes both ways; `blackhole` accepts
and holds connections (and stops moving bytes on open ones) without ever answering, as a
hung server or a dropped network does; `down` closes everything and refuses new
connections, as a stopped server does.

It runs its own event loop in a thread: Litestar's test client serves the app from
another thread, and a proxy must keep moving bytes whatever the test's loop is doing.

    with TcpProxy("127.0.0.1", 3306) as proxy:
        settings = make_settings(DB_PORT=str(proxy.port))
        proxy.blackhole()
"""

import asyncio
import contextlib
import threading
from collections.abc import Coroutine
from types import TracebackType
from typing import Any

CHUNK = 65536


class TcpProxy:
    def __init__(self, host: str, port: int) -> None:
        self._target = (host, port)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._flowing: asyncio.Event | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0

    def __enter__(self) -> "TcpProxy":
        self._thread.start()
        self._run(self._start())
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._run(self._stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def forward(self) -> None:
        self._run(self._set_flowing(True))

    def blackhole(self) -> None:
        """From now on no byte moves in either direction, on new or open connections."""
        self._run(self._set_flowing(False))

    def down(self) -> None:
        """The dependency is gone: open connections are closed, new ones refused."""
        self._run(self._close_all())

    def _run(self, coro: Coroutine[Any, Any, None]) -> None:
        asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    async def _start(self) -> None:
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _set_flowing(self, flowing: bool) -> None:
        assert self._flowing is not None
        if flowing:
            self._flowing.set()
        else:
            self._flowing.clear()

    async def _close_all(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.close()

    async def _stop(self) -> None:
        await self._close_all()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _track(self, task: "asyncio.Task[None]") -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        assert self._flowing is not None
        current = asyncio.current_task()
        if current is not None:
            self._track(current)
        self._writers.add(writer)
        try:
            await self._flowing.wait()
            up_reader, up_writer = await asyncio.open_connection(*self._target)
        except (OSError, asyncio.CancelledError):
            writer.close()
            self._writers.discard(writer)
            return
        self._writers.add(up_writer)
        self._track(asyncio.create_task(self._pipe(reader, up_writer)))
        self._track(asyncio.create_task(self._pipe(up_reader, writer)))

    async def _pipe(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        assert self._flowing is not None
        try:
            while chunk := await source.read(CHUNK):
                await self._flowing.wait()
                sink.write(chunk)
                await sink.drain()
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            with contextlib.suppress(Exception):
                sink.close()
            self._writers.discard(sink)
