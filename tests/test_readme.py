"""The README stays true: its Python API block runs as printed (a small budget already)."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
FENCE = re.compile(r"^```(\w+)\n(.*?)^```", re.S | re.M)


def section(title: str) -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index(f"## {title}")
    end = text.find("\n## ", start + 1)
    return text[start:end if end > 0 else None]


def test_python_api_block_runs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (code,) = [body for lang, body in FENCE.findall(section("Python API")) if lang == "python"]
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the default out= lands in tmp_path
    namespace: dict = {"__name__": "readme"}
    exec(compile(code, "README.md:Python API", "exec"), namespace)  # noqa: S102
    study = namespace["study"]
    assert Path(study.path).parent == tmp_path
    assert isinstance(study.runs, pd.DataFrame) and isinstance(study.trajectories, pd.DataFrame)
    assert len(study.runs) == 9 and (study.runs["status"] == "ok").all()
    assert (study.runs["final_metric"] == "test_acc_200ep_seed_mean").all()
    assert namespace["finals"].between(80, 94.38).all()  # NB201 cifar10 test accuracies, percent
