"""`benchmarks/bench_updates.py`'s "router own": `OwnSteps` counts the CPU of the awaited coroutine's own steps, not what
the event loop runs while it waits (on PostgreSQL, router.handle waits for its write while the next chat's look runs),
and passes its result, its errors and a cancellation through as a plain await would."""

from __future__ import annotations

import asyncio
import time

import pytest

from benchmarks.bench_updates import OwnSteps


def burn(seconds: float) -> None:
    until = time.process_time() + seconds
    while time.process_time() < until:
        pass


async def test_only_the_coroutines_own_steps_are_counted() -> None:
    waiting = asyncio.Event()

    async def other() -> None:  # runs while the measured coroutine waits
        await waiting.wait()
        burn(0.06)

    async def measured() -> str:
        burn(0.02)
        waiting.set()
        await asyncio.sleep(0.001)
        burn(0.02)
        return "done"

    spent: list[float] = []
    neighbour = asyncio.create_task(other())
    started = time.process_time()
    assert await OwnSteps(measured(), spent) == "done"
    window = time.process_time() - started
    await neighbour
    assert window >= 0.09  # the window counts the neighbour's 60 ms too
    assert len(spent) == 1 and 0.035 <= spent[0] < 0.06


async def test_errors_and_cancellation_pass_through() -> None:
    async def failing() -> None:
        await asyncio.sleep(0)
        raise ValueError("from inside")

    spent: list[float] = []
    with pytest.raises(ValueError, match="from inside"):
        await OwnSteps(failing(), spent)
    assert len(spent) == 1

    cleaned: list[str] = []

    async def long() -> None:
        try:
            await asyncio.sleep(10)
        finally:
            cleaned.append("finally ran")

    task = asyncio.create_task(_awaited(long(), spent))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert cleaned == ["finally ran"] and len(spent) == 2  # the cancelled one counted too


async def _awaited(coro: object, spent: list[float]) -> object:
    return await OwnSteps(coro, spent)
