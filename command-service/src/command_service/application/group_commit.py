"""Group commit: commands that arrive while a batch is being written wait and go
together in the next one, so N concurrent commands cost one transaction and one commit
instead of N. A lone command goes at once (no timer, no added latency)."""

import asyncio
from collections import deque
from typing import Generic, TypeVar

from command_service.application.ports import BatchWriter

Job = TypeVar("Job")
Answer = TypeVar("Answer")


class GroupCommit(Generic[Job, Answer]):
    """`submit` hands a job to the next batch and waits for its answer; `write` takes a
    batch and gives one answer (or the exception to raise) per job, in order. At most
    `batches` batches are written at the same time, each of at most `max_batch` jobs."""

    def __init__(
        self,
        write: BatchWriter[Job, Answer],
        max_batch: int,
        batches: int,
    ) -> None:
        self._write = write
        self._max_batch = max_batch
        self._slots = batches
        self._pending: deque[tuple[Job, asyncio.Future[Answer]]] = deque()
        self._writers: set[asyncio.Task[None]] = set()
        self.batches = 0  # batches written, and the jobs in them: their ratio is the
        self.jobs = 0  # mean batch size (in the service's stats)

    async def submit(self, job: Job) -> Answer:
        future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._pending.append((job, future))
        if len(self._writers) < self._slots:
            writer = asyncio.create_task(self._drain(), name="group-commit")
            self._writers.add(writer)
            writer.add_done_callback(self._writers.discard)
        # a caller that gives up (client gone, request timeout) does not stop the batch:
        # its command is written with the others, only its answer goes unread
        return await asyncio.shield(future)

    async def _drain(self) -> None:
        while self._pending:
            take = min(self._max_batch, len(self._pending))
            batch = [self._pending.popleft() for _ in range(take)]
            self.batches, self.jobs = self.batches + 1, self.jobs + take
            try:
                answers = await self._write([job for job, _ in batch])
            except asyncio.CancelledError:  # shutting down: nobody waits forever
                for _, future in batch:
                    future.cancel()
                raise
            except Exception as failed:  # e.g. the database is down: every caller hears it
                for _, future in batch:
                    if not future.done():
                        future.set_exception(failed)
            else:
                for (_, future), answer in zip(batch, answers, strict=True):
                    if future.done():
                        continue
                    if isinstance(answer, BaseException):
                        future.set_exception(answer)
                    else:
                        future.set_result(answer)
