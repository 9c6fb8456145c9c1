"""Scale-out: the Ray executor against inline scoring, and `assay serve` against the old server.

Ray half: samples/s of a CPU-bound pipeline (one reward doing a fixed amount of pure-Python
arithmetic per sample, about a millisecond) scored inline, then on 1 and 2 warm Ray actors of a
local Ray (``num_cpus=2``). The actors are started and warmed before timing; the four ways take
turns in each of ``--repeats`` rounds (in reverse order every other round), so a change in the
machine's load hits them alike, and each figure is the median over the rounds; ``paired``
ratios are the median of each round's own ratio. The aim: each added worker adds at least 0.8x of one worker's
throughput (``ray2 / ray1 >= 1.8``). For reference, the same pipeline on the process executor
with 2 forked workers: what two cores give right now on a machine shared with other work. And
CPU milliseconds per 1000 samples, summed over this process and the scoring processes (from
/proc): where it stays at the inline figure, Ray adds no work, and throughput then grows with
the cores actually free. ``busy``: the scoring processes' CPU time over their number times the
wall time (1.0: every one of them computed the whole time; less: they waited for a chunk, for
the last one to finish, or for a core). The load average before and after is printed.

Server half: one-sample OpenRLHF ``/get_reward`` requests (a GRPO math answer each, scored by
the real ``math`` + ``think_format`` verifiers), from 1, 16 and 64 concurrent keep-alive clients,
against three servers in their own processes: the old standard-library server
(``bench/stdlib_server.py``, a copy of it; scores on its handler threads), and ``assay serve``
with 2 worker processes with micro-batching on (``--max-batch 256 --max-wait-ms 5``) and off
(``--max-batch 1``). Throughput (requests/s) and p50/p99 latency per cell; the clients are a
small asyncio HTTP/1.1 client in this process (so they share the machine's cores with the
servers, the same for every server).

    python bench/scale.py [--part all|ray|server] [--quick]

Prints two tables and a final JSON line with the figures and ratios.
"""

from __future__ import annotations

import os
import sys

# Sibling scripts in this folder are named like standard modules (math.py, code.py); running
# `python bench/NAME.py` puts the folder first on the import path, so drop it.
_HERE = os.path.realpath(os.path.dirname(os.path.abspath(__file__)))
sys.path[:] = [p for p in sys.path if os.path.realpath(os.path.abspath(p or ".")) != _HERE]

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import assay  # noqa: E402

# -- Ray half ---------------------------------------------------------------------------------


def cpu_work(sample, rounds: int = 6000) -> float:
    """A fixed amount of pure-Python arithmetic per sample (about a millisecond here)."""
    h = len(sample.completion)
    for i in range(rounds):
        h = (h * 31 + i) % 1_000_003
    return (h % 100) / 100


def cpu_half(sample) -> float:
    """Half of `cpu_work`: two of these make the two-component pipeline of the placement rows."""
    return cpu_work(sample, rounds=3000)


def _cpu_seconds(pids: list[int], own: bool = True) -> float:
    """User + system CPU seconds used so far by ``pids`` (from /proc) and this process (unless
    ``own`` is false)."""
    t = os.times()
    total = t.user + t.system if own else 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for pid in pids:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return total


def _load() -> float:
    return os.getloadavg()[0]


def bench_ray(n: int, repeats: int) -> dict:
    import ray

    from assay.ray_executor import RayExecutor

    assay.reward(cpu_work)
    assay.reward(cpu_half)
    rows = [{"prompt": f"q{i}", "completion": f"answer number {i}"} for i in range(n)]
    pipe = assay.load_pipeline({"name": "cpu", "rewards": [{"use": "cpu_work"}]})
    expected = [r.model_dump() for r in pipe.score(rows)]
    # Placement rows: the same work as two components asking for different CPUs, so each gets
    # a pool of its own (one actor each, the combination on the driver), against the same
    # pipeline on one pool of two actors holding both components.
    halves = assay.load_pipeline(
        {
            "name": "halves",
            "rewards": [
                {"use": "cpu_half", "name": "a", "num_cpus": 0.5},
                {"use": "cpu_half", "name": "b", "num_cpus": 0.25, "weight": 0.5},
            ],
        }
    )
    expected_halves = [r.model_dump() for r in halves.score(rows)]

    # What two plain forked processes get on this machine right now (it is shared with other
    # work): the ceiling for two Ray actors.
    pipe.score(rows[:8], executor="process", workers=2)  # fork the pool before timing
    procs = list(pipe._procs[1]._processes) if pipe._procs else []
    # Ray starts its workers at nice 15; the inline and process sides run at nice 0.
    os.environ.setdefault("RAY_worker_niceness", "0")
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        object_store_memory=100 * 1024 * 1024,
        log_to_driver=False,
    )
    try:
        # Both executors stay warm side by side so that their runs can alternate (a change in
        # the machine's load then hits both alike). Ray's CPU counts are bookkeeping, not
        # limits: all seven actors fit the local Ray's two (0.25 + 2 x 0.25 for ray1 and ray2,
        # 2 x 0.25 for one pool, 0.5 + 0.25 for two pools) and each still runs on a whole
        # core when it has work.
        executors = {w: RayExecutor(pipe, w, num_cpus=0.25) for w in (1, 2)}
        one_pool = RayExecutor(halves, 2, num_cpus=0.25)
        two_pools = RayExecutor(halves, 1)
        assert len(one_pool.pools) == 1 and len(two_pools.pools) == 2
        for ex in (*executors.values(), one_pool, two_pools):
            ex.warm()
            ex.pipeline.score(rows[:8], executor=ex)  # first calls: imports in the actors
        runs: dict[str, tuple[object, dict, list[int]]] = {
            "inline": ("inline", {}, []),
            "process2": ("process", {"workers": 2}, procs),
            **{f"ray{w}": (ex, {}, [pid for pid, _ in ex.where()]) for w, ex in executors.items()},
            "halves_inline": ("inline", {}, []),
            "halves_1pool": (one_pool, {}, [pid for pid, _ in one_pool.where()]),
            "halves_2pools": (two_pools, {}, [pid for pid, _ in two_pools.where()]),
        }
        times: dict[str, list[float]] = {k: [] for k in runs}
        cpu: dict[str, list[float]] = {k: [] for k in runs}
        busy: dict[str, list[float]] = {k: [] for k in runs}
        loads = [_load()]
        for r in range(repeats):
            order = list(runs) if r % 2 == 0 else list(reversed(runs))
            for key in order:
                executor, kw, pids = runs[key]
                c0, w0, t0 = _cpu_seconds(pids), _cpu_seconds(pids, own=False), time.perf_counter()
                p, want = (
                    (halves, expected_halves) if key.startswith("halves") else (pipe, expected)
                )
                out = p.score(rows, executor=executor, **kw)  # type: ignore[arg-type]
                dt = time.perf_counter() - t0
                times[key].append(dt)
                cpu[key].append(_cpu_seconds(pids) - c0)
                if pids:  # how much of the wall time the scoring processes were on a CPU
                    busy[key].append((_cpu_seconds(pids, own=False) - w0) / (len(pids) * dt))
                assert [x.model_dump() for x in out] == want, "results differ from inline"
            loads.append(_load())
        for ex in (*executors.values(), one_pool, two_pools):
            ex.close()
    finally:
        ray.shutdown()
        pipe.close()
        halves.close()
    figures: dict = {
        k: (n / statistics.median(times[k]), 1e6 * statistics.median(cpu[k]) / n) for k in runs
    }
    figures["busy"] = {k: statistics.median(v) for k, v in busy.items() if v}
    # each round's own ray2 / ray1 (the two ran seconds apart, under the same load)
    paired = [times["ray1"][i] / times["ray2"][i] for i in range(repeats)]
    figures["paired"] = statistics.median(paired)
    paired_ceiling = [times["inline"][i] / times["process2"][i] for i in range(repeats)]
    figures["paired_ceiling"] = statistics.median(paired_ceiling)
    figures["paired_pools"] = statistics.median(
        [times["halves_1pool"][i] / times["halves_2pools"][i] for i in range(repeats)]
    )
    figures["load"] = (min(loads), max(loads))
    return figures


# -- server half ------------------------------------------------------------------------------


class Client:
    """A minimal HTTP/1.1 client: keep-alive where the server allows it, else a connection per
    request (the old server speaks HTTP/1.0)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        self.writer.write(head.encode() + body)
        await self.writer.drain()
        status = await self.reader.readline()
        headers = {}
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            k, _, v = line.decode().partition(":")
            headers[k.strip().lower()] = v.strip()
        length = int(headers.get("content-length", "-1"))
        data = await (self.reader.readexactly(length) if length >= 0 else self.reader.read())
        if status.startswith(b"HTTP/1.0") or headers.get("connection", "").lower() == "close":
            await self.close()
        return int(status.split()[1]), data

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def grpo_request(i: int) -> bytes:
    """One math answer (right for even i, wrong for odd), in OpenRLHF's request shape."""
    a, b = i % 97 + 3, i % 89 + 5
    prompt = f"Question {i}: what is {a} * {b}? Think step by step."
    value = a * b if i % 2 == 0 else a * b + 1
    completion = (
        f"<think>We multiply {a} by {b}. {a} * {b} = {a} * {b - 1} + {a}, which gives "
        f"{a * (b - 1)} + {a}.</think><answer>The answer is \\boxed{{{value}}}</answer>"
    )
    return json.dumps(
        {"query": [prompt + completion], "prompts": [prompt], "labels": [str(a * b)]}
    ).encode()


SPEC = "name: grpo_math\nrewards:\n  - use: math\n  - use: think_format\n    weight: 0.2\n"

_ANCHOR = """
import importlib.util, sys
spec = importlib.util.spec_from_file_location("stdlib_server", sys.argv[1])
mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
import assay
mod.serve(assay.load_pipeline(sys.argv[2]), port=0)
"""


def start_server(kind: str, spec: Path) -> subprocess.Popen:
    if kind == "stdlib":
        cmd = [sys.executable, "-c", _ANCHOR, str(Path(_HERE) / "stdlib_server.py"), str(spec)]
    else:
        batch = ["--max-batch", "256", "--max-wait-ms", "5"] if kind == "batch on" else []
        batch = batch or ["--max-batch", "1", "--max-wait-ms", "0"]
        cmd = [sys.executable, "-m", "assay.cli", "serve", "-p", str(spec), "--port", "0"]
        cmd += ["--workers", "2", "--max-queue", "100000", *batch]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


async def load(port: int, clients: int, per_client: int, offset: int) -> tuple[float, list[float]]:
    latencies: list[float] = []

    async def one(k: int) -> None:
        c = Client("127.0.0.1", port)
        try:
            for j in range(per_client):
                body = grpo_request(offset + k * per_client + j)
                t0 = time.perf_counter()
                status, _ = await c.post("/get_reward", body)
                latencies.append(time.perf_counter() - t0)
                assert status == 200, status
        finally:
            await c.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(one(k) for k in range(clients)))
    return time.perf_counter() - t0, latencies


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def bench_server(total: int) -> dict:
    figures: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / "grpo_math.yaml"
        spec.write_text(SPEC)
        for kind in ("stdlib", "batch off", "batch on"):
            proc = start_server(kind, spec)
            try:
                assert proc.stdout is not None
                line = proc.stdout.readline()
                port = int(line.rsplit(":", 1)[1])
                asyncio.run(load(port, 4, 8, 10**6))  # warm: workers, imports, caches
                for clients in (1, 16, 64):
                    per_client = max(1, total // clients)
                    secs, lat = asyncio.run(load(port, clients, per_client, clients * 10**4))
                    figures[(kind, clients)] = {
                        "rps": len(lat) / secs,
                        "p50_ms": 1000 * _pct(lat, 0.5),
                        "p99_ms": 1000 * _pct(lat, 0.99),
                    }
            finally:
                proc.terminate()
                proc.wait(30)
    return figures


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", choices=["all", "ray", "server"], default="all")
    ap.add_argument("--quick", action="store_true", help="fewer samples and requests")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    out: dict = {"bench": "scale", "cpus": os.cpu_count()}
    if args.part in ("all", "ray"):
        n = 600 if args.quick else 2400
        r = bench_ray(n, args.repeats)
        lo, hi = r["load"]
        print(
            f"Ray executor, CPU-bound pipeline, {n} samples, median of {args.repeats} "
            f"alternating rounds (load average {lo:.1f}-{hi:.1f}):"
        )
        print(
            f"  {'executor':<10} {'samples/s':>10} {'vs inline':>10} {'CPU ms/1k':>10} {'busy':>6}"
        )
        for key in ("inline", "process2", "ray1", "ray2"):
            rps, cpu = r[key]
            b = r["busy"].get(key)
            busy = f"{b:>6.2f}" if b is not None else f"{'-':>6}"
            print(f"  {key:<10} {rps:>10.0f} {rps / r['inline'][0]:>9.2f}x {cpu:>10.0f} {busy}")
        scaling = r["ray2"][0] / r["ray1"][0]
        ceiling = r["process2"][0] / r["inline"][0]
        work = r["inline"][1] / r["ray2"][1]
        print(f"  ray2 / ray1 = {scaling:.2f}x (linear: 2.00x; aim: >= 1.80x)")
        print(f"  ray2 / ray1 paired by round = {r['paired']:.2f}x")
        print(
            f"  process2 / inline = {ceiling:.2f}x, paired {r['paired_ceiling']:.2f}x "
            "(what two plain processes get right now)"
        )
        print(f"  inline CPU / ray2 CPU per sample = {work:.2f} (1.00: Ray adds no work)")
        print("  busy: CPU time of the scoring processes / (their number x wall time)\n")
        print("Placement: the same work as two components in their own pools (1 actor each):")
        print(
            f"  {'executor':<14} {'samples/s':>10} {'vs inline':>10} {'CPU ms/1k':>10} {'busy':>6}"
        )
        for key in ("halves_inline", "halves_1pool", "halves_2pools"):
            rps, cpu = r[key]
            b = r["busy"].get(key)
            busy = f"{b:>6.2f}" if b is not None else f"{'-':>6}"
            base = r["halves_inline"][0]
            print(f"  {key:<14} {rps:>10.0f} {rps / base:>9.2f}x {cpu:>10.0f} {busy}")
        pools = r["halves_2pools"][0] / r["halves_1pool"][0]
        print(
            f"  two pools / one pool of two actors = {pools:.2f}x, paired {r['paired_pools']:.2f}x\n"
        )
        out["ray"] = {
            **{
                k: {"samples_s": round(r[k][0], 1), "cpu_ms_per_1k": round(r[k][1], 1)}
                for k in (
                    "inline",
                    "process2",
                    "ray1",
                    "ray2",
                    "halves_inline",
                    "halves_1pool",
                    "halves_2pools",
                )
            },
            "two_pools_over_one_pool": round(pools, 3),
            "two_pools_over_one_pool_paired": round(r["paired_pools"], 3),
            "busy": {k: round(v, 3) for k, v in r["busy"].items()},
            "ray2_over_ray1": round(scaling, 3),
            "ray2_over_ray1_paired": round(r["paired"], 3),
            "process2_over_inline": round(ceiling, 3),
            "process2_over_inline_paired": round(r["paired_ceiling"], 3),
            "cpu_efficiency_ray2": round(work, 3),
            "load_average": [round(lo, 2), round(hi, 2)],
        }
    if args.part in ("all", "server"):
        total = 256 if args.quick else 768
        f = bench_server(total)
        print(f"Reward server, one-sample math requests, ~{total} requests per cell:")
        print(
            f"  {'server':<10} {'clients':>7} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
            f"{'vs stdlib':>9}"
        )
        for (kind, clients), v in f.items():
            base = f[("stdlib", clients)]["rps"]
            print(
                f"  {kind:<10} {clients:>7} {v['rps']:>8.0f} {v['p50_ms']:>8.1f} "
                f"{v['p99_ms']:>8.1f} {v['rps'] / base:>8.2f}x"
            )
        out["server"] = {
            f"{kind}/{clients}": {k: round(x, 2) for k, x in v.items()}
            for (kind, clients), v in f.items()
        }
        out["server_batch_on_vs_stdlib_64"] = round(
            f[("batch on", 64)]["rps"] / f[("stdlib", 64)]["rps"], 3
        )
        out["server_batch_on_vs_off_64"] = round(
            f[("batch on", 64)]["rps"] / f[("batch off", 64)]["rps"], 3
        )
    print(json.dumps(out))


if __name__ == "__main__":
    main()
