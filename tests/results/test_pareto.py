"""Pareto fronts, hypervolume over time and plots, on hand-made points and on a real tiny study."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nasarena.bench.config import Budget, StudyConfig
from nasarena.bench.study import run_study
from nasarena.errors import ConfigError
from nasarena.results import schema as S
from nasarena.results.pareto import hypervolume_curves, pareto_fronts, reference_point, write_pareto
from nasarena.results.store import load_study


def _points() -> pd.DataFrame:
    # run a: (score, cost) = (90, 1.0) (85, 0.2) (80, 0.9: dominated); run b: (92, 2.0)
    return pd.DataFrame({S.RUN_ID: ["a", "a", "a", "b"], S.STRATEGY: ["x", "x", "x", "y"],
                         "score": [90.0, 85.0, 80.0, 92.0], "cost": [1.0, 0.2, 0.9, 2.0],
                         "time": [1.0, 2.0, 3.0, 1.0], S.ARCH: ["p", "q", "r", "s"]})


def test_fronts_drop_dominated_points_per_run() -> None:
    fronts = pareto_fronts(_points())
    assert sorted(fronts[S.ARCH]) == ["p", "q", "s"]


def test_reference_is_the_nadir_of_the_final_fronts_and_hypervolume_grows() -> None:
    pts = _points()
    ref, ideal = reference_point(pts)
    assert ref[0] == pytest.approx(-85.0 + 0.07) and ref[1] == pytest.approx(2.0 + 0.018)
    assert ideal.tolist() == [-92.0, 0.2]
    curves = hypervolume_curves(pts, np.array([0.5, 1.0, 2.5, 10.0]))
    a = curves[curves[S.RUN_ID] == "a"]["hypervolume"].to_numpy()
    assert a[0] == 0.0 and np.all(np.diff(a) >= 0) and 0 < a[-1] < 1
    # run a at the end: exact area of {(-90, 1.0), (-85, 0.2)} under the reference, over the box
    exact = 5.0 * (ref[1] - 1.0) + (ref[0] + 85.0) * (ref[1] - 0.2)
    assert a[-1] == pytest.approx(exact / np.prod(ref - ideal))


def test_write_pareto_on_a_real_study(tmp_path: Path) -> None:
    cfg = StudyConfig(strategies=("random", "regularized-evolution-mo"), oracle="nb201-lite",
                      oracle_kwargs={"dataset": "cifar10-valid"}, seeds=(0, 1), budget=Budget(max_evals=40))
    run_study(cfg, tmp_path / "s", jobs=1, progress=False)
    study = load_study(tmp_path / "s")
    paths, md = write_pareto(study, tmp_path / "p", "score,params")
    for name in ("pareto_fronts.csv", "pareto_fronts_final.csv", "hypervolume.csv",
                 "figures/pareto_observed.png", "figures/pareto_final.svg", "figures/hypervolume_time.png"):
        assert paths[name].is_file()
    fronts = pd.read_csv(paths["pareto_fronts_final.csv"])
    assert fronts["final"].between(0, 100).all() and set(fronts[S.STRATEGY]) == set(cfg.strategies)
    assert "| regularized-evolution-mo |" in md
    with pytest.raises(ConfigError, match="two objectives"):
        write_pareto(study, tmp_path / "q", ("score", "params", "flops"))
    # A fixed reference point: stated in the text and in the hypervolume figure's caption; the
    # legend and the caption both say mean over runs with the number of runs.
    fixed, md_fixed = write_pareto(study, tmp_path / "r", "score,params", with_final=False,
                                   reference=(60.0, 2.0), n_boot=100)
    assert "score 60, params 2" in md_fixed and "given by the user" in md_fixed
    caption = next(ln for ln in md_fixed.splitlines() if "hypervolume_time.png" in ln)
    assert "reference point score 60, params 2" in caption and "number of runs" in caption
    hv = pd.read_csv(fixed["hypervolume.csv"])
    assert hv["hv_final_mean"].between(0, 1).all()
    with pytest.raises(ConfigError, match="must be worse than the best"):
        write_pareto(study, tmp_path / "s2", "score,params", with_final=False, reference=(99.0, 2.0))


def test_hypervolume_legend_matches_the_caption_and_no_band_from_one_run() -> None:
    from nasarena.results.pareto import plot_hypervolume

    summary = pd.DataFrame({S.STRATEGY: ["x", "x", "y", "y"], "time": [1.0, 10.0, 1.0, 10.0],
                            "mean": [0.1, 0.5, 0.2, 0.6], "ci_low": [0.05, 0.4, np.nan, np.nan],
                            "ci_high": [0.2, 0.6, np.nan, np.nan], "n_runs": [5, 5, 1, 1]})
    fig = plot_hypervolume(summary, "time", reference=np.array([-60.0, 2.0]))
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["x (mean of 5 runs)", "y (mean of 1 run, no band)"]
    assert len(ax.collections) == 1  # one band: x's; y has a single run
    assert "reference point: score 60, params 2" in " ".join(t.get_text() for t in ax.texts)


def test_prefix_hypervolumes_equal_hypervolume_of_every_prefix():
    """The one-pass front update gives the exact 2-D hypervolume of each prefix (ties, NaN, points
    outside the reference box included)."""
    from nasarena.objectives import hypervolume
    from nasarena.results.pareto import prefix_hypervolumes

    rng = np.random.default_rng(7)
    for _ in range(200):
        n = int(rng.integers(0, 25))
        pts = rng.integers(0, 8, (n, 2)).astype(float)
        if n and rng.random() < 0.3:
            pts[rng.integers(n), int(rng.integers(2))] = np.nan
        expected = [hypervolume(pts[: i + 1], (7.0, 7.0)) for i in range(n)]
        assert np.allclose(prefix_hypervolumes(pts, (7.0, 7.0)), expected)
