"""The import-memory benchmark script runs end to end at a small N (the real-size run is by hand)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_memory_benchmark_script_runs_at_small_n(tmp_path: Path) -> None:
    """``benchmarks/official_import_memory.py`` with N=2 (the real-size run is N=15,625)."""
    from nasarena.registry import load_object

    if not (ROOT.parent / "shared" / "data" / "nb201").exists():
        pytest.skip("../shared/data/nb201 is needed to build the official-format file")
    main = load_object(f"{ROOT / 'benchmarks' / 'official_import_memory.py'}:main")
    out = tmp_path / "rows.json"
    assert main(["--archs", "2", "--work", str(tmp_path), "--json", str(out)]) == 0
    rows = {r["side"]: r for r in json.loads(out.read_text())}
    assert set(rows) == {"stream", "in-memory", "nas_201_api"}
    assert rows["stream"]["count"] == rows["in-memory"]["count"] > 0
    assert all(r["archs"] == 2 and r["peak_extra_mb"] > 0 for r in rows.values())
