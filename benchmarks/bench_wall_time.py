"""Wall time of ``make bench`` (``nasarena bench``) from a cold start, as the issue's target asks.

Usage::

    python benchmarks/bench_wall_time.py [--jobs 2] [--out DIR] [--keep] [-- extra nasarena bench args]

Runs ``nasarena bench`` in a fresh interpreter (so imports, table loading, the process pool's start
and the report are all counted) into an empty folder, and prints the wall time, the CPU time of the
main process and of its process tree (polled with psutil, since pool workers are reaped by the
fork server, not by us), and the run counts. Issue target: <= 120 s on 2 cores. On a shared,
oversubscribed machine the wall time overstates; ``idle_2core_estimate_seconds`` = main-process CPU
(serial: validation, report) + worker CPU / 2 is what an idle 2-core machine would take, to within
pool start-up. As a baseline in the same call it also times a fresh interpreter that only imports
nasarena and loads the table (the fixed cost every study pays).
``pytest benchmarks/test_make_bench_wall_time.py`` wraps this for pytest-benchmark. Nothing asserts
on time.
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

import psutil

REPO = Path(__file__).resolve().parents[1]


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _timed(cmd: list[str]) -> tuple[float, float, subprocess.CompletedProcess]:
    cpu0, t0 = _children_cpu(), time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    return time.perf_counter() - t0, _children_cpu() - cpu0, proc


def _cpu(p: psutil.Process) -> float:
    """Own CPU only: every descendant is polled itself, so reaped children must not count twice."""
    t = p.cpu_times()
    return t.user + t.system


def _timed_tree(cmd: list[str], poll: float = 0.25) -> tuple[float, float, float, int, str]:
    """Run ``cmd``; return wall, main-process CPU, CPU of all descendants, return code, output."""
    t0 = time.perf_counter()
    with tempfile.TemporaryFile("w+") as log:
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, text=True)
        main = psutil.Process(proc.pid)
        seen: dict[int, float] = {}
        main_cpu = 0.0
        while proc.poll() is None:
            try:
                own = main.cpu_times()
                main_cpu = own.user + own.system
                for child in main.children(recursive=True):
                    try:
                        seen[child.pid] = max(seen.get(child.pid, 0.0), _cpu(child))
                    except psutil.Error:
                        pass
            except psutil.Error:
                pass
            time.sleep(poll)
        wall = time.perf_counter() - t0
        log.seek(0)
        return wall, main_cpu, sum(seen.values()), proc.returncode, log.read()


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
    wall, main_cpu, tree_cpu, rc, output = _timed_tree(cmd)
    if rc != 0:
        raise SystemExit(f"nasarena bench failed ({rc}):\n{output}")
    from nasarena.results.store import load_study

    runs = load_study(tmp).runs
    figures = {
        "wall_seconds": round(wall, 2), "main_cpu_seconds": round(main_cpu, 2),
        "worker_cpu_seconds": round(tree_cpu, 2),
        "idle_2core_estimate_seconds": round(main_cpu + tree_cpu / 2, 1), "jobs": jobs,
        "cpu_count": os.cpu_count(), "runs": len(runs), "failed_runs": int((runs["status"] != "ok").sum()),
        "evaluations": int(runs["n_evals"].sum()),
        "run_cpu_seconds_by_strategy": runs.groupby("strategy")["cpu_seconds"].sum().round(2).to_dict(),
        "baseline_import_and_load_wall_seconds": round(base_wall, 2),
        "baseline_import_and_load_cpu_seconds": round(base_cpu, 2),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "stdout_tail": output.strip().splitlines()[-6:],
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
