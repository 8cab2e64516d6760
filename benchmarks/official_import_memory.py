"""Peak memory and time of importing an official-format NB201 file: streaming vs in-memory vs nas_201_api.

Builds NB201 v1_1-format files of N architectures with ``nas_201_api``'s own ``ArchResults`` /
``ResultsCount`` (``tests/estimators/official/official_fixture.py``: real strings and final values
where ``../shared/data/nb201`` has them, synthetic 200-epoch curves, 1-3 seeds; 24 architectures
are built and the others are copies of them under their own index) saved with ``torch.save``
as the authors did, then measures, each in a fresh process on the same file:

- ``stream``: ``import_nb201(path, out)``, the default (bounded memory);
- ``in-memory``: ``import_nb201(path, out, in_memory=True)``, the previous importer (``torch.load``
  of the whole dict, then the same conversion);
- ``nas_201_api``: ``NASBench201API(torch.load(path, weights_only=False))``, the official load alone
  (no cache written).

Reported: wall and CPU seconds, and peak RSS growth over the process's RSS just before the call
(``VmHWM`` minus RSS; the interpreter and imports are excluded). Ratios are against the streaming
import measured in the same run. Use two or more sizes to see whether peak memory grows with the
file. Real size: ``--archs 15625`` (about 7 GB of file, 27 GB of memory for the non-streaming sides:
they are skipped with ``--stream-only``). Nothing here is a test; run it by hand::

    python benchmarks/official_import_memory.py --archs 300 1200 --work /tmp/nb201-mem
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "estimators" / "official" / "official_fixture.py"
SHARED = ROOT.parent / "shared" / "data" / "nb201"

_CHILD = """
import json, resource, sys, time
from pathlib import Path
side, path, out = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
import psutil, torch, nas_201_api
from nasarena.estimators.official_import import import_nb201
proc = psutil.Process()
rss0 = proc.memory_info().rss
t0, c0 = time.perf_counter(), time.process_time()
if side == "nas_201_api":
    api = nas_201_api.NASBench201API(torch.load(path, map_location="cpu", weights_only=False), verbose=False)
    n = len(api.evaluated_indexes)
else:
    n = import_nb201(path, out, trust=True, in_memory=side == "in-memory", progress=False).n_runs
wall, cpu = time.perf_counter() - t0, time.process_time() - c0
hwm = int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0]) * 1024
print(json.dumps({"side": side, "wall_s": wall, "cpu_s": cpu, "peak_extra_mb": (hwm - rss0) / 2**20,
                  "peak_rss_mb": hwm / 2**20, "count": n}))
"""


_BUILD = """
import pickle, sys
from pathlib import Path
import numpy as np, torch
sys.path.insert(0, sys.argv[1])
import official_fixture as fx
shared, n, path = Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
idx = sorted(set(np.linspace(0, 15624, n).astype(int).tolist()))
# 24 architectures built with the official classes; the others are copies of them under their own
# index and string (building all N that way is ~10x slower). Copies go through pickle, so they share
# no objects with their template (copy.deepcopy would share every string and tuple key: no real file
# is made that way); the 24 built ones share interned attribute names and constants, as a real one.
templates = fx.topology_dict(shared, idx[:: max(1, len(idx) // 24)][:24])
obj = {"meta_archs": templates["meta_archs"], "arch2infos": {}, "evaluated_indexes": set(idx)}
keys = sorted(templates["arch2infos"])
for k, i in enumerate(idx):
    rec = pickle.loads(pickle.dumps(templates["arch2infos"][keys[k % len(keys)]]))
    for state in rec.values():
        state["arch_index"], state["arch_str"] = i, obj["meta_archs"][i]
    obj["arch2infos"][i] = rec
torch.save(obj, path)
"""


def build(n: int, work: Path) -> Path:
    """An official-format file of ``n`` architectures (built in a child process, so its memory is freed)."""
    path = work / f"n{n}" / "NAS-Bench-201-v1_1-096897.pth"
    if path.is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-c", _BUILD, str(FIXTURE.parent), str(SHARED), str(n), str(path)],
                   check=True)
    return path


def measure(side: str, path: Path, out: Path) -> dict[str, float]:
    shutil.rmtree(out, ignore_errors=True)
    res = subprocess.run([sys.executable, "-c", _CHILD, side, str(path), str(out)], check=True,
                         capture_output=True, text=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--archs", type=int, nargs="+", default=[300, 1200])
    ap.add_argument("--work", type=Path, default=Path("/tmp/nasarena-nb201-memory"))
    ap.add_argument("--stream-only", action="store_true", help="skip the two whole-file sides")
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = ap.parse_args(argv)
    if not SHARED.exists():
        print(f"{SHARED} is needed to build the official-format files", file=sys.stderr)
        return 2
    sides = ["stream"] if args.stream_only else ["stream", "in-memory", "nas_201_api"]
    rows = []
    for n in args.archs:
        t0 = time.perf_counter()
        path = build(n, args.work)
        size = path.stat().st_size
        print(f"N={n}: {size / 2**20:.0f} MiB file (built in {time.perf_counter() - t0:.0f} s)", flush=True)
        for side in sides:
            r = measure(side, path, args.work / f"n{n}" / f"cache-{side}")
            r.update(archs=n, file_mb=size / 2**20)
            rows.append(r)
            print(f"  {side:12s} wall {r['wall_s']:7.1f} s  cpu {r['cpu_s']:7.1f} s  "
                  f"peak +{r['peak_extra_mb']:7.0f} MB ({r['peak_extra_mb'] / (size / 2**20):.2f}x the file)",
                  flush=True)
    print("\nratios against the streaming import of the same file (same run):")
    for n in args.archs:
        base = next(r for r in rows if r["archs"] == n and r["side"] == "stream")
        for r in rows:
            if r["archs"] == n and r["side"] != "stream":
                ratio = r["peak_extra_mb"] / base["peak_extra_mb"]
                print(f"  N={n} {r['side']:12s} peak memory {ratio:.1f}x, "
                      f"cpu time {r['cpu_s'] / base['cpu_s']:.2f}x, wall {r['wall_s'] / base['wall_s']:.2f}x")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
