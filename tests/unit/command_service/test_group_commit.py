"""Group commit: jobs that arrive together are written together, each gets its own
answer, a lone job is not held back, and a caller that gives up does not drop its job."""

import asyncio

import pytest

from command_service.application.group_commit import GroupCommit


class Writer:
    """Records each batch it was given; answers each job with job * 10, or raises."""

    def __init__(self, fail_with: Exception | None = None) -> None:
        self.batches: list[list[int]] = []
        self.release = asyncio.Event()
        self.release.set()
        self.fail_with = fail_with

    async def __call__(self, jobs: list[int]) -> list[int | BaseException]:
        self.batches.append(jobs)
        await self.release.wait()
        if self.fail_with is not None:
            raise self.fail_with
        return [ValueError(f"job {j}") if j < 0 else j * 10 for j in jobs]


async def test_jobs_submitted_together_share_one_batch_and_get_their_own_answers() -> None:
    writer = Writer()
    commits = GroupCommit(writer, max_batch=64, batches=2)
    answers = await asyncio.gather(*(commits.submit(j) for j in range(20)))
    assert answers == [j * 10 for j in range(20)]
    assert writer.batches == [list(range(20))]
    assert (commits.batches, commits.jobs) == (1, 20)


async def test_a_lone_job_is_written_at_once() -> None:
    writer = Writer()
    commits = GroupCommit(writer, max_batch=64, batches=1)
    assert await asyncio.wait_for(commits.submit(7), 1) == 70
    assert writer.batches == [[7]]


async def test_jobs_arriving_during_a_write_wait_for_the_next_batch() -> None:
    writer = Writer()
    writer.release.clear()
    commits = GroupCommit(writer, max_batch=64, batches=1)
    first = asyncio.ensure_future(commits.submit(1))
    await asyncio.sleep(0)  # the writer has taken [1] and waits on the database
    await asyncio.sleep(0)
    later = [asyncio.ensure_future(commits.submit(j)) for j in (2, 3, 4)]
    await asyncio.sleep(0)
    writer.release.set()
    assert await asyncio.gather(first, *later) == [10, 20, 30, 40]
    assert writer.batches == [[1], [2, 3, 4]]


async def test_batches_are_bounded_by_max_batch() -> None:
    writer = Writer()
    commits = GroupCommit(writer, max_batch=4, batches=1)
    await asyncio.gather(*(commits.submit(j) for j in range(10)))
    assert [len(b) for b in writer.batches] == [4, 4, 2]


async def test_an_exception_answer_is_raised_to_its_caller_only() -> None:
    commits = GroupCommit(Writer(), max_batch=64, batches=1)
    results = await asyncio.gather(
        commits.submit(1), commits.submit(-1), commits.submit(2), return_exceptions=True
    )
    assert results[0] == 10
    assert results[2] == 20
    assert isinstance(results[1], ValueError)


async def test_a_failed_write_reaches_every_caller_of_the_batch() -> None:
    commits = GroupCommit(Writer(fail_with=ConnectionError("db down")), max_batch=64, batches=1)
    results = await asyncio.gather(*(commits.submit(j) for j in range(3)), return_exceptions=True)
    assert all(isinstance(r, ConnectionError) for r in results)


async def test_a_caller_that_gives_up_does_not_drop_its_job() -> None:
    writer = Writer()
    writer.release.clear()
    commits = GroupCommit(writer, max_batch=64, batches=1)
    impatient = asyncio.ensure_future(commits.submit(5))
    await asyncio.sleep(0)
    impatient.cancel()
    with pytest.raises(asyncio.CancelledError):
        await impatient
    writer.release.set()
    assert await commits.submit(6) == 60
    assert writer.batches == [[5], [6]]  # job 5 was still written
