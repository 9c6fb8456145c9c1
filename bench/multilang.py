"""Compiled languages in the sandbox: compile time, one-run time, and a GRPO group's compile cost.

One run, same machine. Per language (C, C++, Java, JavaScript, Rust, Go; those installed):

- ``compile``: `NativeRunner.compile` of an a+b program inside the process sandbox (namespaces,
  seccomp, rlimits; a fresh source each round so the cache never answers), next to the anchor,
  the same compiler command run directly on the host with ``subprocess.run`` (no isolation);
- ``run``: one execution of the built program on one input, sandbox vs ``subprocess.run`` on the
  host;
- ``group``: the `code` reward scoring a GRPO group of 8 identical completions (2 test cases)
  with a fresh reward: the program compiles once, so the group costs about one compile plus
  8x2 runs, not 8 compiles (the figure printed next to it is 8 x the median compile).

Medians of ``--rounds`` (default 5). The runners are interleaved per round. Prints a table,
then one JSON line with the figures and the ratios (sandbox / host).

    .venv/bin/python bench/multilang.py [--rounds N] [--languages c,cpp,...]
"""

from __future__ import annotations

import os
import sys

# Other scripts in bench/ are named after what they measure (bench/math.py): keep this folder off
# the import path so they never shadow the standard library.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import argparse  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

from assay_sandbox import (  # noqa: E402
    CompileCache,
    Limits,
    NativeRunner,
    SandboxPool,
    ToolchainMissing,
    find_toolchain,
)
from assay_sandbox.programs import run_limits  # noqa: E402

PROGRAMS = {
    "c": '#include <stdio.h>\nint main(void){long a,b;scanf("%ld %ld",&a,&b);printf("%ld\\n",a+b);return 0;}\n',
    "cpp": "#include <iostream>\nint main(){long long a,b;std::cin>>a>>b;std::cout<<a+b<<'\\n';}\n",
    "java": "import java.util.*;\npublic class Main{public static void main(String[] x){Scanner s=new Scanner(System.in);System.out.println(s.nextLong()+s.nextLong());}}\n",
    "javascript": "const [a,b]=require('fs').readFileSync(0,'utf8').trim().split(/\\s+/).map(Number);console.log(a+b);\n",
    "rust": 'use std::io::*;\nfn main(){let mut s=String::new();stdin().read_to_string(&mut s).unwrap();let v:Vec<i64>=s.split_whitespace().map(|x|x.parse().unwrap()).collect();println!("{}",v[0]+v[1]);}\n',
    "go": 'package main\nimport "fmt"\nfunc main(){var a,b int64;fmt.Scan(&a,&b);fmt.Println(a+b)}\n',
}
COMMENT = {"javascript": "//", "c": "//", "cpp": "//", "java": "//", "rust": "//", "go": "//"}


def host_compile(chain, source: str, workdir: str) -> tuple[float, list[str]]:
    """Compile on the host, no sandbox: seconds, run argv."""
    name = chain.spec.source_name(source)
    for p in os.listdir(workdir):
        path = os.path.join(workdir, p)
        shutil.rmtree(path) if os.path.isdir(path) else os.unlink(path)
    with open(os.path.join(workdir, name), "w") as f:
        f.write(source)
    env = {"PATH": "/usr/bin:/bin", "HOME": workdir, "TMPDIR": workdir, "LANG": "C.UTF-8"}
    env.update(chain.spec.env)
    argv = chain.compile_argv(name)
    t0 = time.perf_counter()
    if argv is not None:
        subprocess.run(argv, cwd=workdir, env=env, check=True, capture_output=True)
    return time.perf_counter() - t0, chain.run_argv(name, 256)


def host_run(argv: list[str], workdir: str, env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    out = subprocess.run(argv, cwd=workdir, input=b"3 4\n", capture_output=True, env=env)
    assert out.stdout.strip() == b"7", out
    return time.perf_counter() - t0


def group_cost(language: str, source: str) -> tuple[float, int]:
    """Seconds for a fresh `code` reward to score 8 identical completions; compiles done."""
    from assay_verifiers.code.reward import CodeReward

    reward = CodeReward(workers=2, memory_mb=256, case_timeout=5.0)
    tests = {"type": "stdio", "language": language,
             "cases": [{"input": "1 2\n", "output": "3\n"}, {"input": "5 6\n", "output": "11\n"}]}  # fmt: skip
    reward._sandbox()  # pool start-up is not part of the group's cost
    t0 = time.perf_counter()
    scores = reward.score([{"completion": f"```{language}\n{source}```", "tests": tests}] * 8)
    dt = time.perf_counter() - t0
    assert all(s.value == 1.0 for s in scores), scores[0]
    compiles = reward._native.cache.misses
    reward.close()
    return dt, compiles


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--languages", default=",".join(PROGRAMS))
    args = ap.parse_args()
    langs = []
    for lang in args.languages.split(","):
        try:
            find_toolchain(lang)
            langs.append(lang)
        except ToolchainMissing as exc:
            print(f"skip {lang}: {exc}")
    figures: dict[str, dict[str, float]] = {}
    with SandboxPool(
        "process", workers=2, limits=Limits(wall_s=10, cpu_s=10, memory_mb=256)
    ) as pool:
        print(f"isolation: {pool.isolation}; load average {os.getloadavg()[0]:.1f}")
        for lang in langs:
            chain = find_toolchain(lang)
            workdir = tempfile.mkdtemp(prefix=f"assay-bench-{lang}-")
            runner = NativeRunner(pool, cache=CompileCache())
            sb_c, host_c, sb_r, host_r = [], [], [], []
            program = None
            for i in range(args.rounds):
                src = PROGRAMS[lang] + f"{COMMENT[lang]} round {i} {time.time_ns()}\n"
                t0 = time.perf_counter()
                built = runner.compile(lang, src)
                sb_c.append(time.perf_counter() - t0)
                assert built.ok, built.message
                program = built.program
                dt, argv = host_compile(chain, src, workdir)
                host_c.append(dt)
                env = {"PATH": "/usr/bin:/bin", "HOME": workdir, "LANG": "C.UTF-8"}
                env |= chain.spec.run_env(256)
                t0 = time.perf_counter()
                r = runner.run(program, "3 4\n", limits=Limits(wall_s=10, cpu_s=10, memory_mb=256))
                sb_r.append(time.perf_counter() - t0)
                assert r.stdout.strip() == "7", r
                host_r.append(host_run(argv, workdir, env))
            shutil.rmtree(workdir, ignore_errors=True)
            g_s, g_compiles = group_cost(lang, PROGRAMS[lang])
            med = statistics.median
            figures[lang] = {
                "compile_s": round(med(sb_c), 4),
                "host_compile_s": round(med(host_c), 4),
                "compile_ratio": round(med(sb_c) / med(host_c), 2) if med(host_c) > 0 else None,
                "run_s": round(med(sb_r), 4),
                "host_run_s": round(med(host_r), 4),
                "run_ratio": round(med(sb_r) / med(host_r), 2),
                "group8_s": round(g_s, 4),
                "group8_compiles": g_compiles,
                "eight_compiles_s": round(8 * med(sb_c), 4),
                "run_memory_mb": run_limits(chain, Limits(memory_mb=256)).memory_mb,
            }  # type: ignore[dict-item]
    print(f"{'lang':<11}{'compile':>9}{'host':>8}{'x':>6}{'run':>9}{'host':>8}{'x':>6}"
          f"{'group8':>9}{'compiles':>9}{'8xcompile':>10}")  # fmt: skip
    for lang, f in figures.items():
        print(f"{lang:<11}{f['compile_s']:>9.3f}{f['host_compile_s']:>8.3f}{f['compile_ratio'] or 0:>6.2f}"
              f"{f['run_s']:>9.4f}{f['host_run_s']:>8.4f}{f['run_ratio']:>6.2f}"
              f"{f['group8_s']:>9.3f}{f['group8_compiles']:>9}{f['eight_compiles_s']:>10.3f}")  # fmt: skip
    print(json.dumps({"bench": "multilang", "rounds": args.rounds, "languages": figures}))


if __name__ == "__main__":
    main()
