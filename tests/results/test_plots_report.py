"""Figures and the report: files, labels, self-contained HTML, and `nasarena report` on a real study."""

from __future__ import annotations

import argparse
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from nasarena.errors import DataError
from nasarena.results import aggregate as A
from nasarena.results import cli_report
from nasarena.results import plots as P
from nasarena.results.render import md_table
from nasarena.results.report import write_report

FIGURES = ("anytime_final_time", "anytime_regret_time", "anytime_regret_time_median", "anytime_final_evals",
           "anytime_regret_evals", "anytime_regret_evals_median", "final_distribution", "params_vs_final")


@pytest.mark.parametrize("name, values, expected", [
    ("valid_acc_200ep_seed_mean", None, "validation accuracy (200 epochs, seed mean, %)"),
    ("test_acc", [91.2, 93.0], "test accuracy (%)"),
    ("test_acc_200ep_seed_mean", [91.2], "test accuracy (200 epochs, seed mean, %)"),
    ("test_accuracy_200ep", [0.91, 0.93], "test accuracy (200 epochs, fraction)"),
    ("val_loss", None, "val loss"),
    (None, None, "final metric"),
])
def test_metric_labels_name_the_metric_and_unit(name, values, expected):
    assert P.metric_label(name, values) == expected


def test_regret_label_follows_the_unit():
    assert "percentage points" in P.regret_label("test accuracy (%)")
    assert "metric units" in P.regret_label("val loss")


@pytest.fixture(scope="module")
def synthetic_report(small_study, tmp_path_factory) -> dict[str, Path]:
    traj, runs = small_study
    study = SimpleNamespace(trajectories=traj, runs=runs, meta=[{"versions": {"numpy": np.__version__}}])
    out = tmp_path_factory.mktemp("report")
    return write_report(out / "study", out, study=study, n_boot=200)


def test_report_writes_every_file(synthetic_report):
    paths = synthetic_report
    for name in ("report.md", "report.html", "summary.csv", "verdict.csv", "comparisons.csv", "runs.csv",
                 "curves.csv", "failed_runs.csv"):
        assert paths[name].is_file() and paths[name].stat().st_size > 0, name
    for fig in FIGURES:
        png, svg = paths[f"figures/{fig}.png"], paths[f"figures/{fig}.svg"]
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert ET.parse(svg).getroot().tag.endswith("svg")
    verdict = pd.read_csv(paths["verdict.csv"])
    assert len(verdict) == 3 and set(verdict["verdict"]) <= {"holds", "does not hold"}
    failed = pd.read_csv(paths["failed_runs.csv"])
    assert sorted(failed["run_id"]) == ["reinforce-s0", "reinforce-s1"]


def test_html_is_self_contained_and_says_what_was_searched(synthetic_report):
    text = synthetic_report["report.html"].read_text()
    srcs = re.findall(r'src="([^"]*)"', text)
    assert len(srcs) == len(FIGURES) and all(s.startswith("data:image/png;base64,") for s in srcs)
    assert not re.search(r"<link|<script|href=\"(?!#)", text)  # nothing fetched from elsewhere
    for needle in ("sim", "toy", "valid_acc_200ep_one_seed", "valid_acc_200ep_seed_mean",
                   "evaluations 40", "48 (46 completed, 2 failed)", "TOST", "Mann-Whitney",
                   "validation accuracy (200 epochs, seed mean, %)"):
        assert needle in text, needle
    assert "ValueError: boom &lt;b&gt;" in text and "boom <b>" not in text  # errors are escaped


def test_markdown_has_tables_sentences_and_figure_links(synthetic_report):
    md = synthetic_report["report.md"].read_text()
    assert "| oracle | dataset | n_workers | strategy | runs (ok/failed) |" in md
    assert md.count("**same final accuracy** —") == 1
    for fig in FIGURES:
        assert f"](figures/{fig}.png)" in md
    assert "| reinforce | 10/2 |" in md


def test_md_table_escapes_pipes_and_formats_numbers():
    text = md_table(pd.DataFrame({"a": ["x|y"], "b": [0.000012], "c": [np.nan], "d": [3]}))
    assert text.splitlines() == ["| a | b | c | d |", "|---|---|---|---|", "| x\\|y | 1.20e-05 | — | 3 |"]


def test_figures_without_completed_runs_still_render(small_study):
    traj, runs = small_study
    runs = runs.assign(status="failed")
    table = A.run_table(traj, runs)
    curves = A.anytime_curves(traj, runs, np.random.default_rng(0))
    assert curves.empty
    fig = P.plot_anytime(curves, "time", "incumbent_regret", {})
    assert "no completed runs" in fig.axes[0].texts[0].get_text()
    assert P.plot_final_distribution(table, {}).axes[0].texts


@pytest.fixture(scope="module")
def real_study(tmp_path_factory) -> Path:
    """A tiny study through the real runner and store: NB201-lite, two strategies, three seeds."""
    from nasarena.bench.config import Budget, StudyConfig
    from nasarena.bench.study import run_study

    out = tmp_path_factory.mktemp("study")
    config = StudyConfig(strategies=("random", "regularized-evolution"), oracle="nb201-lite",
                         oracle_kwargs={"dataset": "cifar10-valid"}, seeds=(0, 1, 2),
                         budget=Budget(max_evals=25))
    run_study(config, out, jobs=1, progress=False)
    return out


def test_nasarena_report_on_a_stored_study(real_study, tmp_path, capsys, monkeypatch):
    # Figures are checked on the synthetic report above; drawing them again would double this
    # file's time, so here they are only checked to be asked for with the stored study's tables.
    seen = {}

    def figures(curves, table, out_dir, time_label):
        seen.update(curves=curves, table=table, time_label=time_label)
        return {}

    monkeypatch.setattr("nasarena.results.report.make_figures", figures)
    parser = argparse.ArgumentParser(prog="nasarena")
    cli_report.register(parser.add_subparsers())
    out = tmp_path / "rep"
    args = parser.parse_args(["report", str(real_study), "--out", str(out), "--rl", "random",
                              "--bootstrap", "200", "--anytime", "evals"])
    assert args.func(args) == 0
    assert str(out / "report.html") in capsys.readouterr().out
    summary = pd.read_csv(out / "summary.csv")
    assert sorted(summary["strategy"]) == ["random", "regularized-evolution"]
    assert (summary["n_ok"] == 3).all() and (summary["evals_mean"] == 25).all()
    verdict = pd.read_csv(out / "verdict.csv")
    assert (verdict["n_rl"] == 3).all() and verdict["p_value"].notna().all()
    assert list(verdict["quantity"]) == ["final", "auc_evals", "final_params"]
    html = (out / "report.html").read_text()
    assert "nb201-lite" in html and "cifar10-valid" in html and "valid_acc_200ep_seed_mean" in html
    assert set(seen["curves"]["axis"]) == {"time", "evals"} and len(seen["table"]) == 6
    assert seen["time_label"] == "simulated time (s, log scale)"


def test_report_command_rejects_bad_input(tmp_path):
    parser = argparse.ArgumentParser(prog="nasarena")
    cli_report.register(parser.add_subparsers())
    args = parser.parse_args(["report", str(tmp_path / "missing")])
    with pytest.raises(DataError, match="does not exist"):
        args.func(args)
    args = parser.parse_args(["report", str(tmp_path)])
    with pytest.raises(DataError, match="no finished runs"):
        args.func(args)
    with pytest.raises(SystemExit):
        parser.parse_args(["report", "--help"])


def test_multi_objective_studies_get_the_pareto_section(small_study, tmp_path, monkeypatch):
    import nasarena.results.pareto as pareto

    traj, runs = small_study
    meta = [{"strategy_config": {"objectives": ["score", "params"]}}]
    png = tmp_path / "figures" / "pareto_observed.png"
    png.parent.mkdir()
    fig = P.plot_anytime(pd.DataFrame(columns=["axis", "metric", "strategy", "oracle", "dataset",
                                               "n_workers"]), "time", "incumbent_final", {})
    fig.savefig(png)
    calls = []

    def fake_write_pareto(study, out_dir, objectives, **kwargs):
        calls.append(objectives)
        hv = tmp_path / "hypervolume.csv"
        pd.DataFrame({"strategy": ["random"], "hv_final_mean": [0.5]}).to_csv(hv, index=False)
        return ({"hypervolume.csv": hv, "figures/pareto_observed.png": png},
                "## Multi-objective\n\nHypervolume normalised to the box.\n\n| a |\n|---|\n![x](y.png)\n")

    monkeypatch.setattr(pareto, "write_pareto", fake_write_pareto)
    monkeypatch.setattr("nasarena.results.report.make_figures", lambda *a, **k: {})
    study = SimpleNamespace(trajectories=traj, runs=runs, meta=meta)
    paths = write_report(tmp_path, tmp_path, study=study, n_boot=100)
    assert calls == [("score", "params")] and paths["figures/pareto_observed.png"] == png
    html = paths["report.html"].read_text()
    assert "Multi-objective: score vs params" in html and "Hypervolume normalised to the box." in html
    assert html.count("data:image/png;base64,") == 1 and "hv_final_mean" in html
    plain = write_report(tmp_path, tmp_path / "plain", study=SimpleNamespace(trajectories=traj, runs=runs))
    assert "Multi-objective" not in plain["report.md"].read_text() and len(calls) == 1


def test_one_panel_per_setting(small_study):
    traj, runs = small_study
    traj2 = pd.concat([traj, traj.assign(dataset="toy2")])
    runs2 = pd.concat([runs, runs.assign(dataset="toy2")], ignore_index=True)
    traj2["run_id"] = traj2["run_id"] + "-" + traj2["dataset"]
    runs2["run_id"] = runs2["run_id"] + "-" + runs2["dataset"]
    curves = A.anytime_curves(traj2, runs2, np.random.default_rng(0), axes=("evals",), n_boot=50)
    fig = P.plot_anytime(curves, "evals", "incumbent_regret", {})
    titles = [ax.get_title() for ax in fig.axes if ax.get_visible()]
    assert titles == ["sim · toy · 1 worker", "sim · toy2 · 1 worker"]
    assert all(len(ax.get_legend().get_texts()) == 4 for ax in fig.axes)


def test_report_when_regret_is_undefined(small_study, tmp_path):
    """An oracle that cannot know the best of its space (live training) has NaN regret: the
    report says so in the regret figures instead of failing on a log axis."""
    traj, runs = small_study
    traj, runs = traj.copy(), runs.copy()
    traj["incumbent_regret"] = np.nan
    runs["best_final"] = np.nan
    paths = write_report(tmp_path, study=SimpleNamespace(trajectories=traj, runs=runs, meta=[]), n_boot=20)
    assert paths["report.md"].is_file() and paths["report.html"].is_file()
