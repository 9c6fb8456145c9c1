"""Hard deadlines and memory caps: the work really stops (its worker process is killed and
replaced), from any thread, and the next samples are scored normally."""

from __future__ import annotations

import asyncio
import os
import threading
import time

import pytest

from assay.errors import DeadlineExceeded, WorkerCrashed
from assay.pipeline import load_pipeline
from assay.workers import GuardedPool

DEADLINE = 1.0


def slow_reward(sample):
    text = sample.completion_text
    if text == "c-hang":
        return float(10**10**10 % 7)  # stuck inside C (bignum power), no bytecode boundary
    if text == "sleep":
        time.sleep(10_000)
    if text == "hog":
        b = bytearray(8 * 1024**3)  # 8 GiB: over the cap
        return float(len(b))
    if text == "die":
        os._exit(3)
    return float(len(text))


@pytest.fixture
def pipe(assay_registry):
    assay_registry.add("reward", "slow_reward", slow_reward)
    p = load_pipeline({"rewards": [{"use": "slow_reward", "timeout": DEADLINE, "memory_mb": 1024}]})
    yield p
    p.close()


def _in_thread(fn):
    out: dict = {}

    def run():
        t0 = time.perf_counter()
        out["value"] = fn()
        out["seconds"] = time.perf_counter() - t0

    t = threading.Thread(target=run)
    t.start()
    t.join(60)
    assert not t.is_alive(), "scoring did not return"
    return out["value"], out["seconds"]


@pytest.mark.parametrize("executor", ["inline", "thread", "process"])
@pytest.mark.parametrize("hang", ["c-hang", "sleep"])
def test_hang_times_out_within_deadline_from_a_worker_thread(pipe, executor, hang):
    pipe.score([{"completion": "warm"}])  # start the guarded workers
    res, seconds = _in_thread(
        lambda: pipe.score([{"completion": hang}], executor=executor, workers=2)
    )
    assert res[0].status == "timeout" and res[0].components["slow_reward"].status == "timeout"
    assert seconds < DEADLINE + 0.5, f"took {seconds:.2f} s"
    after = pipe.score(
        [{"completion": "abc"}, {"completion": "abcd"}], executor=executor, workers=2
    )
    assert after.rewards == [3.0, 4.0]


def test_hang_among_good_samples_only_that_one_times_out(pipe):
    rows = [
        {"completion": "a"},
        {"completion": "c-hang"},
        {"completion": "abc"},
        {"completion": "sleep"},
    ]
    res, seconds = _in_thread(lambda: pipe.score(rows))
    assert [r.status for r in res] == ["ok", "timeout", "ok", "timeout"]
    assert res.rewards[0] == 1.0 and res.rewards[2] == 3.0
    assert seconds < 2 * DEADLINE + 1.0  # two hangs on two workers run side by side


def test_memory_cap_and_crash_are_errors_not_crashes_of_the_caller(pipe):
    res = pipe.score([{"completion": "hog"}, {"completion": "die"}, {"completion": "ok"}])
    assert res[0].status == "error" and "MemoryError" in res[0].components["slow_reward"].reason
    assert (
        res[1].status == "error"
        and "exited with status 3" in res[1].components["slow_reward"].reason
    )
    assert res.rewards[2] == 2.0


def _spin():
    while True:
        pass


def test_guarded_pool_call_kills_and_replaces_the_worker():
    with GuardedPool(1) as pool:
        pid = pool.call(os.getpid, timeout=5)
        t0 = time.perf_counter()
        with pytest.raises(DeadlineExceeded):
            pool.call(_spin, timeout=0.3)
        assert time.perf_counter() - t0 < 0.8
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)  # the old worker is gone
        assert pool.call(pow, 3, 4, timeout=5) == 81
        assert pool.kills == 1


def test_guarded_pool_reraises_the_functions_exception():
    with GuardedPool(1) as pool, pytest.raises(ZeroDivisionError):
        pool.call(divmod, 1, 0, timeout=5)


def test_guarded_pool_reports_a_crashed_worker():
    with GuardedPool(1) as pool, pytest.raises(WorkerCrashed, match="status 7"):
        pool.call(os._exit, 7, timeout=5)


def test_guarded_pool_from_asyncio_does_not_block_the_loop():
    async def main():
        with GuardedPool(2) as pool:
            ticks = 0

            async def ticker():
                nonlocal ticks
                while True:
                    await asyncio.sleep(0.05)
                    ticks += 1

            t = asyncio.create_task(ticker())
            with pytest.raises(DeadlineExceeded):
                await pool.acall(_spin, timeout=0.5)
            t.cancel()
            return ticks

    assert asyncio.run(main()) >= 5


def test_workers_survive_the_thread_that_started_them():
    with GuardedPool(1) as pool:
        t = threading.Thread(target=lambda: pool.call(os.getpid, timeout=5))
        t.start()
        t.join()
        time.sleep(0.2)
        assert pool.call(pow, 2, 5, timeout=5) == 32  # same worker, still alive
        assert pool.kills == 0


def _pool_in_daemon(q):
    with GuardedPool(1) as pool:
        q.put(pool.call(pow, 3, 3, timeout=5))


def test_guarded_pool_works_inside_a_daemonic_process():
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=_pool_in_daemon, args=(q,), daemon=True)
    p.start()
    assert q.get(timeout=20) == 27
    p.join(10)


def _allocate(mb):
    return len(bytearray(mb * 1024 * 1024))


def test_memory_cap_is_on_top_of_the_inherited_image():
    ballast = bytearray(600 * 1024 * 1024)  # the parent is already big when the worker forks
    with GuardedPool(1, memory_mb=300) as pool:
        assert pool.call(_allocate, 100, timeout=10) == 100 * 1024 * 1024
        with pytest.raises(MemoryError):
            pool.call(_allocate, 1000, timeout=10)
    del ballast


def test_deadline_includes_waiting_for_a_free_worker():
    with GuardedPool(1) as pool:
        pool.warm()

        def expect_deadline() -> None:
            with pytest.raises(DeadlineExceeded):
                pool.call(_spin, timeout=1.5)

        t = threading.Thread(target=expect_deadline)
        t.start()
        time.sleep(0.2)
        t0 = time.perf_counter()
        with pytest.raises(DeadlineExceeded, match="no worker became free"):
            pool.call(pow, 2, 2, timeout=0.5)
        assert time.perf_counter() - t0 < 1.0
        t.join()
        assert pool.call(pow, 2, 2, timeout=5) == 4
