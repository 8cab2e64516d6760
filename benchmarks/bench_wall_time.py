"""Wall time of ``make bench`` (``nasarena bench``) from a cold start, as the issue's target asks.

Usage::

    python benchmarks/bench_wall_time.py [--jobs 2] [--out DIR] [--keep] [-- extra nasarena bench args]

Runs ``nasarena bench`` in a fresh interpreter (so imports, table loading, the process pool's start
and the report are all counted) into an empty folder, and prints the wall time, the CPU time of the
command and its children, and the run counts. Issue target: <= 120 s on 2 cores. As a baseline in
the same call it also times a fresh interpreter that only imports nasarena and loads the table
(the fixed cost every study pays). ``pytest benchmarks/test_make_bench_wall_time.py`` wraps this
for pytest-benchmark. Nothing asserts on time.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _timed(cmd: list[str]) -> tuple[float, float, subprocess.CompletedProcess]:
    cpu0, t0 = _children_cpu(), time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    return time.perf_counter() - t0, _children_cpu() - cpu0, proc


def measure(jobs: int | None = 2, out: Path | None = None, extra: list[str] | None = None,
            keep: bool = False) -> dict:
    """Run ``nasarena bench`` cold into ``out`` (a temp folder by default); return the figures."""
    tmp = Path(tempfile.mkdtemp(prefix="nasarena-bench-")) if out is None else Path(out)
    if tmp.exists() and any(tmp.iterdir()):
        raise SystemExit(f"{tmp} is not empty: the measurement needs a cold, empty study folder")
    base_wall, base_cpu, _ = _timed([sys.executable, "-c",
                                     "import nasarena.bench.study; from nasarena.estimators.nb201_lite "
                                     "import load_table; load_table('cifar10-valid')"])
    cmd = [sys.executable, "-m", "nasarena.bench.cli", "bench", "--out", str(tmp), "--no-progress"]
    if jobs:
        cmd += ["--jobs", str(jobs)]
    cmd += list(extra or [])
    wall, cpu, proc = _timed(cmd)
    if proc.returncode != 0:
        raise SystemExit(f"nasarena bench failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    from nasarena.results.store import load_study

    runs = load_study(tmp).runs
    figures = {
        "wall_seconds": round(wall, 2), "cpu_seconds": round(cpu, 2), "jobs": jobs,
        "cpu_count": os.cpu_count(), "runs": len(runs), "failed_runs": int((runs["status"] != "ok").sum()),
        "evaluations": int(runs["n_evals"].sum()),
        "run_wall_seconds_by_strategy": runs.groupby("strategy")["wall_seconds"].sum().round(2).to_dict(),
        "baseline_import_and_load_wall_seconds": round(base_wall, 2),
        "baseline_import_and_load_cpu_seconds": round(base_cpu, 2),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "stdout_tail": proc.stdout.strip().splitlines()[-4:],
    }
    if not keep and out is None:
        shutil.rmtree(tmp, ignore_errors=True)
    return figures


def main() -> None:
    """Command-line entry (see module docstring)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--jobs", type=int, default=2, help="processes (default 2, the issue's 2 cores)")
    p.add_argument("--out", type=Path, help="study folder (default: a temporary one, deleted after)")
    p.add_argument("--keep", action="store_true", help="keep the temporary study folder")
    p.add_argument("extra", nargs="*", help="extra arguments for `nasarena bench` (after --)")
    args = p.parse_args()
    print(json.dumps(measure(args.jobs, args.out, args.extra, args.keep), indent=2))


if __name__ == "__main__":
    main()
