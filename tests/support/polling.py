"""The one way a test waits for something to happen: poll a probe until it answers, and
fail (never return quietly) when it has not by the deadline."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar, overload

T = TypeVar("T")

_NOTHING = object()
_SHOWN = 500  # characters of the last answer an AssertionError shows


@overload
async def eventually(
    probe: Callable[[], Awaitable[T | None]],
    *,
    timeout: float,
    what: str,
    interval: float = ...,
    ignoring: tuple[type[Exception], ...] = ...,
) -> T: ...


@overload
async def eventually(
    probe: Callable[[], Awaitable[T]],
    *,
    timeout: float,
    what: str,
    interval: float = ...,
    accept: Callable[[T], bool] = ...,
    ignoring: tuple[type[Exception], ...] = ...,
) -> T: ...


async def eventually(
    probe: Callable[[], Awaitable[T]],
    *,
    timeout: float,
    what: str,
    interval: float = 0.05,
    accept: Callable[[T], bool] = bool,
    ignoring: tuple[type[Exception], ...] = (),
) -> T:
    """The first answer of `probe` that `accept` takes (by default: the first truthy one).

    `probe` is awaited again every `interval` seconds (asyncio.sleep: the loop producing
    what is awaited keeps running); exceptions of the `ignoring` types count as "not yet",
    any other propagates. At `timeout` seconds (a probe still running then is cancelled) an
    AssertionError names `what` and the last answer or ignored exception."""
    last: object = _NOTHING
    try:
        async with asyncio.timeout(timeout) as bound:
            while True:
                try:
                    answer = await probe()
                except ignoring as error:
                    last = error
                else:
                    if accept(answer):
                        return answer
                    last = answer
                await asyncio.sleep(interval)
    except TimeoutError as error:
        if not bound.expired():
            raise  # the probe's own TimeoutError, not the deadline
        cause = last if isinstance(last, BaseException) else error
        raise AssertionError(
            f"timed out after {timeout}s waiting for {what}; last {_shown(last)}"
        ) from cause


def _shown(last: object) -> str:
    if last is _NOTHING:
        return "probe never answered"
    text = repr(last)
    if len(text) > _SHOWN:
        text = text[:_SHOWN] + f"... ({len(text)} characters)"
    kind = "exception" if isinstance(last, BaseException) else "answer"
    return f"{kind}: {text}"
