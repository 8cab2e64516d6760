"""Does inheritance bias the ranking? The Inheritance section's rank-agreement and benchmark parts.

Two sources:

* the study itself: warm-started and from-scratch trainings of the *same* architectures in any of
  its runs (Kendall tau-b of their search scores, scipy), and for NB201 both against the NB201 table;
* ``inheritance_benchmark.json`` in the study folder, written by ``benchmarks/inheritance.py --out``
  (format :data:`BENCHMARK_FORMAT`, documented in docs/inheritance.md): per child of a trained
  parent, the same child trained from scratch and warm-started, at the long and at a 1-epoch
  fidelity, with per-epoch validation curves and training seconds. The benchmark prints what this
  module computes from it, so the script's output and the report's section are the same numbers.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from nasarena.errors import DataError, NasarenaError
from nasarena.results import schema as S
from nasarena.results.stats import Sample, compare, p_text, tost
from nasarena.results.verdict import decide_equivalence

BENCHMARK_FILE = "inheritance_benchmark.json"
BENCHMARK_FORMAT = "nasarena.inheritance-benchmark/1"
MIN_ARCHS = 4  # fewer common architectures: no rank correlation is reported
GOAL = 0.5
NB201_REFERENCE = "cifar10-valid"


def kendall(x: Any, y: Any) -> tuple[float, float]:
    """Kendall's tau-b and its p-value (scipy), NaN when either side has no spread."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if len(x) < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return math.nan, math.nan
    res = stats.kendalltau(x, y)
    return float(res.statistic), float(res.pvalue)


def nb201_reference(arch_strings: list[str]) -> np.ndarray | None:
    """The NB201 table's final metric (cifar10-valid, ``nb201-lite``) of each architecture, or None
    when the table cannot be read here (no data folder) or a string is not an NB201 architecture."""
    try:
        from nasarena.estimators.nb201_lite import NB201LiteOracle

        oracle = NB201LiteOracle(NB201_REFERENCE)
        return np.array([oracle.final_metric(oracle.space.from_string(s)) for s in arch_strings], float)
    except (NasarenaError, OSError, ImportError, KeyError, ValueError):
        return None


def _space(meta: list[dict[str, Any]]) -> str | None:
    spaces = {((m or {}).get("oracle") or {}).get("space") for m in meta}
    return next(iter(spaces)) if len(spaces) == 1 else None


def _tau_text(tau: float, p: float, n: int) -> str:
    return f"{tau:+.3f} (p = {p_text(p)}, {n} architectures)" if np.isfinite(tau) else \
        f"undefined ({n} architectures, one side without spread)"


def study_ranking(traj: pd.DataFrame, table: pd.DataFrame, space: str | None,
                  oracle: str | None) -> list[str]:
    """Sentences on the rank agreement of the study's warm-started and from-scratch trainings."""
    done = table.loc[~table["failed"], S.RUN_ID]
    t = traj[traj[S.RUN_ID].isin(done) & traj[S.OK] & np.isfinite(traj[S.SCORE].to_numpy(float))]
    warm = t[t[S.KIND] == "warm-start"].groupby(S.ARCH)[S.SCORE].mean()
    fresh = t[t[S.KIND] == "fresh"].groupby([S.FIDELITY, S.ARCH])[S.SCORE].mean()
    lines = []
    common = {f: warm.index.intersection(g.droplevel(0).index) for f, g in fresh.groupby(level=0)}
    best = max(common, key=lambda f: len(common[f]), default=None)
    if best is None or len(common[best]) < MIN_ARCHS:
        n = len(common[best]) if best is not None else 0
        lines.append(f"Same architectures trained both warm-started and from scratch in this study: {n} "
                     f"(fewer than {MIN_ARCHS}, no rank correlation; benchmarks/inheritance.py measures "
                     f"it on purpose).")
    else:
        archs = common[best]
        ref = fresh.loc[best].loc[archs]
        warm_rows = (t[S.KIND] == "warm-start") & t[S.ARCH].isin(archs)
        fids = ", ".join(sorted(t.loc[warm_rows, S.FIDELITY].unique()))
        tau, p = kendall(warm.loc[archs], ref)
        lines.append(f"Kendall tau-b between the search scores (validation, mean over repeats) of "
                     f"warm-started trainings (at {fids}) and from-scratch trainings at {best} of the same "
                     f"architectures: {_tau_text(tau, p, len(archs))}.")
    if space == "nb201" and oracle != "nb201-lite":
        top = fresh.groupby(level=0).size().idxmax() if len(fresh) else None
        scratch = fresh.loc[top] if top is not None else fresh
        for what, values in (("warm-started", warm), (f"from-scratch (at {top})", scratch)):
            if len(values) < MIN_ARCHS:
                continue
            ref = nb201_reference(list(values.index))
            if ref is None:
                lines.append("The NB201 table (nb201-lite) cannot be read here, so no tau against it.")
                break
            keep = np.isfinite(ref)
            tau, p = kendall(values.to_numpy(float)[keep], ref[keep])
            lines.append(f"Kendall tau-b of the {what} trainings' search scores against the NB201 table "
                         f"({NB201_REFERENCE}, its final metric): {_tau_text(tau, p, int(keep.sum()))}.")
    return lines


def study_ranking_blocks(study: Any, table: pd.DataFrame) -> list[tuple[str, Any]]:
    """The "does inheritance bias the ranking" sentences of a study with warm starts."""
    meta = getattr(study, "meta", None) or []
    oracles = set(table[S.ORACLE].dropna())
    lines = study_ranking(study.trajectories, table, _space(meta),
                          next(iter(oracles)) if len(oracles) == 1 else None)
    return [("h3", "Does inheritance bias the ranking? (this study)"), ("list", lines)]


# ---- the benchmark's file -------------------------------------------------------------------------

def load_benchmark(study_dir: Path) -> dict[str, Any] | None:
    """The benchmark's record in ``study_dir`` (None when there is none); a damaged one raises."""
    path = Path(study_dir) / BENCHMARK_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"{path} is not readable JSON ({exc}); rerun benchmarks/inheritance.py --out "
                        f"{study_dir} or remove it") from None
    if not isinstance(data, dict) or data.get("format") != BENCHMARK_FORMAT or not data.get("children"):
        raise DataError(f"{path} is not a {BENCHMARK_FORMAT} record with children; rerun "
                        f"benchmarks/inheritance.py --out {study_dir} or remove it")
    return data


def seconds_to_reach(curve: Any, cumulative: Any, target: float) -> float:
    """Training seconds until ``curve`` (per epoch) first reaches ``target`` (inf when it never does)."""
    hit = np.flatnonzero(np.asarray(curve, float) >= target)
    return float(np.asarray(cumulative, float)[hit[0]]) if len(hit) else float("inf")


def child_ratio(c: dict[str, Any]) -> float:
    """Warm-start seconds to reach the child's from-scratch final accuracy / from-scratch seconds.

    Either warm arm counts: the long one at the first epoch it reaches it, the 1-epoch one (its own
    short cosine schedule) if its one epoch does."""
    cum_s, cum_w = np.cumsum(c["seconds_scratch"]), np.cumsum(c["seconds_warm"])
    target = float(c["scratch"])
    candidates = [seconds_to_reach(c["curve_warm"], cum_w, target)]
    if float(c["warm1"]) >= target:
        candidates.append(float(c["seconds_warm1"]))
    return min(candidates) / float(cum_s[-1])


def benchmark_summary(data: dict[str, Any], alpha: float = 0.05, seed: int = 0) -> dict[str, Any]:
    """Everything the benchmark prints and the report shows, computed once from its record.

    The equivalence margin is the record's own (the benchmark's ``--margin``) and the bootstrap is
    seeded with ``seed``, so the script's output and the report give the same numbers."""
    rng = np.random.default_rng(seed)
    margin = float(data.get("margin", 2.0))
    kids = data["children"]
    epochs = int(data["epochs"])
    col = lambda k: np.array([float(c[k]) for c in kids])  # noqa: E731
    curves = pd.DataFrame({"epoch": np.arange(1, epochs + 1)})
    for arm in ("scratch", "warm"):
        curves[f"{arm}: cumulative s (mean)"] = np.mean([np.cumsum(c[f"seconds_{arm}"]) for c in kids], 0)
        curves[f"{arm}: validation acc (mean)"] = np.mean([c[f"curve_{arm}"] for c in kids], 0)
    ratios = np.array([child_ratio(c) for c in kids])
    kinds = [str(c["kind"]) for c in kids]
    by_kind = {k: float(np.median(ratios[[x == k for x in kinds]])) for k in sorted(set(kinds))}
    warm, scratch = col("warm"), col("scratch")
    sample = Sample(warm, scratch, paired=True)
    c = compare(sample, alternative="two-sided", rng=rng)
    t = tost(warm, scratch, margin, alpha, paired=True)
    ci = (c.mean_diff_low, c.mean_diff_high)
    taus = {"1-epoch warm start vs long from scratch": kendall(col("warm1"), scratch),
            "1-epoch from scratch vs long from scratch": kendall(col("scratch1"), scratch)}
    ref = np.array([np.nan if c.get("table") is None else float(c["table"]) for c in kids])
    if np.isfinite(ref).sum() >= 2:
        keep = np.isfinite(ref)
        for name, key in (("1-epoch warm", "warm1"), ("1-epoch scratch", "scratch1"),
                          (f"{epochs}-epoch warm", "warm"), (f"{epochs}-epoch scratch", "scratch")):
            taus[f"{name} vs NB201 table ({NB201_REFERENCE})"] = kendall(col(key)[keep], ref[keep])
    return {"n": len(kids), "kinds": {k: kinds.count(k) for k in sorted(set(kinds))}, "curves": curves,
            "ratios": ratios, "ratio_by_kind": by_kind, "comparison": c, "tost": t,
            "outcome": decide_equivalence(t.p_value, c.p_value, ci, margin, alpha), "taus": taus,
            "margin": margin}


def benchmark_lines(data: dict[str, Any], s: dict[str, Any]) -> list[str]:
    """The benchmark's findings as sentences (every number says what it is)."""
    epochs, r, c, t, margin = int(data["epochs"]), s["ratios"], s["comparison"], s["tost"], s["margin"]
    finite = np.isfinite(r)
    kinds = ", ".join(f"{k} {n}" for k, n in s["kinds"].items())
    ratio = lambda v: f"{v:.2f}" if np.isfinite(v) else "never (within the epochs)"  # noqa: E731
    lines = [f"{s['n']} children of trained parents ({kinds}) on live {data.get('space')} "
             f"({data.get('dataset')}, {data.get('fidelity')}; one training seed per arm, "
             f"{data.get('seed_text', 'seed 0')}); the parents' training is counted for neither arm.",
             f"Warm-start training seconds to reach the child's from-scratch {epochs}-epoch validation "
             f"accuracy, as a ratio of the from-scratch training's seconds: median {ratio(np.median(r))}; "
             f"<= {GOAL:g} (the goal) for {int(np.sum(r <= GOAL))}/{len(r)} children; never reached "
             f"within {epochs} epochs for {int((~finite).sum())}. Median by kind: " +
             ", ".join(f"{k} {ratio(v)}" for k, v in s["ratio_by_kind"].items()) + ".",
             f"Final validation accuracy after {epochs} epochs, mean over children: warm {c.mean_x:.2f}, "
             f"from scratch {c.mean_y:.2f} (warm − scratch {c.mean_diff:+.2f}, 95% CI "
             f"[{c.mean_diff_low:+.2f}, {c.mean_diff_high:+.2f}]); paired Wilcoxon p = {p_text(c.p_value)}; "
             f"paired TOST within ±{margin:g} p = {p_text(t.p_value)}: same final accuracy "
             f"{s['outcome']}."]
    lines += [f"Kendall tau-b, {name}: {_tau_text(tau, p, s['n'])}" for name, (tau, p) in s["taus"].items()]
    return lines


def benchmark_blocks(study_dir: Path, alpha: float = 0.05) -> list[tuple[str, Any]]:
    """The report blocks of the benchmark's record in ``study_dir`` (none when it has none)."""
    data = load_benchmark(study_dir)
    if data is None:
        return []
    s = benchmark_summary(data, alpha)
    command = f" (`{data['command']}`)" if data.get("command") else ""
    return [("h3", f"Warm-started vs from-scratch children ({BENCHMARK_FILE}, benchmarks/inheritance.py)"),
            ("p", f"From the benchmark's record in the study folder{command}; the equivalence margin is "
                  f"the benchmark's (±{s['margin']:g} accuracy points)."),
            ("list", benchmark_lines(data, s)),
            ("p", "Mean over children after each epoch (validation accuracy, %; cumulative measured "
                  "training seconds):"),
            ("table", s["curves"])]
