"""The NAS-Bench-201 Table-5 comparison: our picks' test accuracies beside the paper's published ones.

Each run's pick is its final incumbent (the architecture with the best search signal when the
budget ran out, as in the authors' scripts). Its 200-epoch test accuracy (seed mean) on cifar10,
cifar100 and ImageNet16-120 comes from the data shipped in ``nasarena/data``; the table gives mean
± std over runs (std with ddof=1) per strategy, next to the paper's mean ± std from
``nasarena/data/nb201_table5.json`` (with its citation).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from nasarena.data import NB201_TABLE5, NB201_TEST_DATASETS, data_path, nb201_columns
from nasarena.results import schema as S
from nasarena.spaces.nb201 import NB201Space

#: What the table's numbers are (printed above it).
WHAT = ("test accuracy (%) after 200 epochs, mean over NB201's seeds, of each run's pick (its final "
        "incumbent); mean ± std over runs (std ddof=1)")


@dataclass(frozen=True)
class Published:
    """The paper's Table 5: citation, and per nasarena strategy {column: (mean, std)}."""

    citation: str
    note: str
    rows: dict[str, dict[str, tuple[float, float | None]]]
    optimal: dict[str, float]


def published() -> Published:
    """Read ``nb201_table5.json`` (shipped with nasarena)."""
    raw = json.loads(data_path(NB201_TABLE5).read_text())
    cols = raw["columns"]
    rows, optimal = {}, {}
    for row in raw["rows"]:
        cells = {c: (m, s) for c, m, s in zip(cols, row["mean"], row["std"], strict=True)}
        if row["strategy"] is None:
            optimal = {c: m for c, (m, _) in cells.items()}
        else:
            rows[row["strategy"]] = cells
    return Published(raw["citation"], raw["note"], rows, optimal)


def picks(trajectories: pd.DataFrame) -> pd.DataFrame:
    """One row per run: strategy, seed, the pick's string, its evaluations and its three test accuracies."""
    if trajectories.empty:
        return pd.DataFrame(columns=[S.RUN_ID, S.STRATEGY, S.SEED, "pick", "n_evals", *NB201_TEST_DATASETS])
    last = trajectories.sort_values([S.RUN_ID, S.EVAL_INDEX]).groupby(S.RUN_ID, sort=True).tail(1)
    space, cols = NB201Space(), nb201_columns()
    idx = [space.index(space.from_string(a)) for a in last[S.INC_ARCH].astype(str)]
    out = pd.DataFrame({S.RUN_ID: last[S.RUN_ID].to_numpy(), S.STRATEGY: last[S.STRATEGY].to_numpy(),
                        S.SEED: last[S.SEED].to_numpy(), "pick": last[S.INC_ARCH].to_numpy(),
                        "n_evals": last[S.EVAL_INDEX].to_numpy()})
    for d in NB201_TEST_DATASETS:
        out[d] = cols[f"{d}_test_acc_200ep_mean"][idx]
    return out


def _fmt(mean: float, std: float | None) -> str:
    return f"{mean:.2f} ± {std:.2f}" if std is not None and np.isfinite(std) else f"{mean:.2f}"


def table(picked: pd.DataFrame, paper: Published | None = None) -> pd.DataFrame:
    """Per strategy: runs, mean evaluations, and for each dataset ours vs the paper's mean ± std."""
    paper = paper or published()
    rows = []
    order = {name: i for i, name in enumerate(paper.rows)}  # the paper's row order, then others
    groups = sorted(picked.groupby(S.STRATEGY, sort=False), key=lambda g: order.get(str(g[0]), len(order)))
    for strategy, group in groups:
        row: dict[str, object] = {"strategy": strategy, "runs": len(group),
                                  "evaluations (mean)": round(float(group["n_evals"].mean()), 1)}
        ref = paper.rows.get(str(strategy), {})
        for d in NB201_TEST_DATASETS:
            values = group[d].to_numpy(dtype=float)
            std = float(values.std(ddof=1)) if len(values) > 1 else None
            row[f"{d} ours"] = _fmt(float(values.mean()), std)
            row[f"{d} paper"] = _fmt(*ref[f"{d}_test"]) if f"{d}_test" in ref else "-"
        rows.append(row)
    opt = {"strategy": "optimal (best in the benchmark)", "runs": "", "evaluations (mean)": ""}
    cols = nb201_columns()
    for d in NB201_TEST_DATASETS:
        opt[f"{d} ours"] = f"{cols[f'{d}_test_acc_200ep_mean'].max():.2f}"
        opt[f"{d} paper"] = f"{paper.optimal[f'{d}_test']:.2f}" if paper.optimal else "-"
    rows.append(opt)
    return pd.DataFrame(rows)


def markdown(frame: pd.DataFrame, paper: Published | None = None) -> str:
    """The table as Markdown, with what the numbers are, the stand-in signal and the citation."""
    paper = paper or published()
    head = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "|".join(":---" if i == 0 else "---:" for i in range(len(frame.columns))) + "|"
    body = ["| " + " | ".join(str(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([
        "# NAS-Bench-201 Table 5: our runs beside the published numbers", "",
        f"Numbers: {WHAT}. Searched on CIFAR-10 with the 12-epoch test accuracy of one seed as the "
        "signal (a stand-in for the 12-epoch validation accuracy the paper used, which no installable "
        "package ships), cost 12 x train + valid time per epoch on cifar10-valid, 12,000 simulated s "
        "per run. 'paper' columns: " + paper.citation, "", head, rule, *body, ""])


def write_table5(study_dir: str | Path, out_dir: str | Path | None = None) -> dict[str, Path]:
    """Write ``table5.md`` and ``table5.csv`` (and the per-run picks) for a study; return the paths."""
    from nasarena.results.store import load_study

    study = load_study(study_dir)
    out = Path(out_dir) if out_dir is not None else Path(study_dir) / "report"
    out.mkdir(parents=True, exist_ok=True)
    paper = published()
    picked = picks(study.trajectories)
    frame = table(picked, paper)
    paths = {"table5.md": out / "table5.md", "table5.csv": out / "table5.csv",
             "table5_picks.csv": out / "table5_picks.csv"}
    paths["table5.md"].write_text(markdown(frame, paper))
    frame.to_csv(paths["table5.csv"], index=False)
    picked.to_csv(paths["table5_picks.csv"], index=False)
    return paths


__all__ = ["WHAT", "Published", "markdown", "picks", "published", "table", "write_table5"]
