"""How long `import assay` takes, and what it pulls in, in fresh interpreters.

    python bench/import_time.py [--repeats 15]

Compares against a bare interpreter start and `import pydantic` (the heaviest core dependency,
loaded only when the data model is first used). Prints a table and a JSON line.
"""

from __future__ import annotations

import os
import sys

# Sibling scripts in this folder are named like standard modules (math.py, code.py); running
# `python bench/NAME.py` puts the folder first on the import path, so drop it before the
# standard library imports `math` and gets a benchmark script instead.
_HERE = os.path.realpath(os.path.dirname(os.path.abspath(__file__)))
sys.path[:] = [p for p in sys.path if os.path.realpath(os.path.abspath(p or ".")) != _HERE]

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402


def run(code: str, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        out = subprocess.run(
            [
                sys.executable,
                "-c",
                f"import time; t=time.perf_counter(); {code}; print(time.perf_counter()-t)",
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=15)
    args = ap.parse_args()
    rows = {
        "import assay": run("import assay", args.repeats),
        "import pydantic": run("import pydantic", args.repeats),
        "import assay; assay.Sample": run("import assay; assay.Sample", args.repeats),
        "registry built (all plugins)": run(
            "import warnings; warnings.simplefilter('ignore'); import assay; assay.get_registry()",
            args.repeats,
        ),
    }
    heavy = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, assay; print(','.join(m for m in ('torch','sympy','pydantic','numpy') if m in sys.modules))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    print(f"{'':<32}{'median ms':>10}")
    for k, v in rows.items():
        print(f"{k:<32}{v * 1000:>10.2f}")
    print(f"heavy modules after `import assay`: {heavy or 'none'}")
    print(
        json.dumps(
            {
                "bench": "import_time",
                **{k: round(v * 1000, 3) for k, v in rows.items()},
                "heavy_modules": heavy,
            }
        )
    )


if __name__ == "__main__":
    main()
