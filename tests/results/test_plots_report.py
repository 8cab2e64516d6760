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
from nasarena.results.render import html_table, md_table, table_parts
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
    label = P.regret_label("test accuracy (200 epochs, seed mean, %)")  # says which metric it is
    assert label == ("regret in test accuracy (200 epochs, seed mean): best in space − incumbent "
                     "(percentage points)")


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
    assert len(verdict) == 3 and set(verdict["verdict"]) <= {"holds", "refuted", "inconclusive"}
    assert (verdict["design"] == "paired").all()  # the strategies share seeds 2-11
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
    # constant columns are stated once above the table; rows in rank order
    assert "All rows: oracle = sim; dataset = toy; n_workers = 1" in md
    assert "| rank | strategy | runs (ok/failed) | final mean ± sd |" in md
    assert "|---:|:---|---:|---:|" in md  # numbers right-, text left-aligned
    assert re.search(r"\| \d \| reinforce \| 10/2 \|", md)
    ranks = [int(m) for m in re.findall(r"^\| (\d) \| \S+ \| \d+/\d \|", md, flags=re.M)]
    assert ranks == [1, 2, 3, 4]
    assert md.count("**same final accuracy** —") == 1
    for fig in FIGURES:
        assert f"](figures/{fig}.png)" in md


def test_md_table_escapes_pipes_and_formats_numbers():
    text = md_table(pd.DataFrame({"a": ["x|y"], "b": [0.000012], "c": [np.nan], "d": [3]}))
    assert text.splitlines() == ["| a | b | c | d |", "|:---|---:|---:|---:|", "| x\\|y | 0.000012 | — | 3 |"]


def test_tables_use_one_format_per_column_and_state_constant_columns_once():
    df = pd.DataFrame({"strategy": ["b", "a"], "oracle": ["o", "o"], "p": [0.2180, 0.0000031],
                       "wall s": [0.25, 0.00318], "final": [91.5, 91.25], "n": [3, 10],
                       "ratio": ["1/0", "2/0"]})
    parts = table_parts(df)
    assert parts.constants == [("oracle", "o")] and parts.header == ["strategy", "p", "wall s", "final",
                                                                     "n", "ratio"]
    col = {h: [row[i] for row in parts.cells] for i, h in enumerate(parts.header)}
    assert col["p"] == ["2.18e-01", "3.10e-06"]  # one notation for the whole column
    assert col["wall s"] == ["0.2500", "0.0032"] and col["final"] == ["91.500", "91.250"]
    assert parts.align == ["left", "right", "right", "right", "right", "right"]
    html_text = html_table(df)
    assert html_text.startswith('<p class="const">All rows: oracle = o.</p>')
    assert '<td class="l">b</td>' in html_text and '<td class="r">91.500</td>' in html_text


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

    def figures(curves, table, out_dir, time_label, **kwargs):
        seen.update(curves=curves, table=table, time_label=time_label, **kwargs)
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
    assert seen["highlight"] == ("regularized-evolution", "random")
    assert seen["trainings"][("nb201-lite", "cifar10-valid", 1)] == pytest.approx(1828, rel=0.01)


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
    assert html.count("data:image/png;base64,") == 1 and "hypervolume at the end (mean over runs)" in html
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


def _overlaps(labels) -> bool:
    boxes = [t.get_window_extent() for t in labels if t.get_visible() and t.get_text()]
    return any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])


def test_palette_keeps_twelve_strategies_apart_and_highlights_the_pair():
    names = [f"strategy-{i:02d}" for i in range(10)] + ["regularized-evolution", "reinforce"]
    styles = P.strategy_styles(names, highlight=("regularized-evolution", "reinforce"))
    colours = np.array([st.colour for st in styles.values()])
    dist = np.linalg.norm(colours[:, None] - colours[None, :], axis=-1)
    assert dist[np.triu_indices(len(names), 1)].min() > 0.15  # no two alike (RGB distance)
    pair = [styles["regularized-evolution"], styles["reinforce"]]
    assert all(st.highlighted and st.linewidth > 2 for st in pair)
    others = [st for n, st in styles.items() if n not in ("regularized-evolution", "reinforce")]
    assert not any(st.highlighted for st in others)
    many = P.strategy_styles([f"s{i:02d}" for i in range(14)])
    assert len({(st.colour, st.linestyle) for st in many.values()}) == 14  # dashes beyond 12 colours


def test_figures_have_no_overlapping_tick_labels(small_study):
    traj, runs = small_study
    long_names = {"random": "random-search-with-a-long-name", "evolution": "evolution-non-aging-variant",
                  "reinforce": "reinforce-lstm-controller",
                  "regularized-evolution": "regularized-evolution-mo"}
    table = A.run_table(traj, runs).replace({"strategy": long_names})
    for i in range(5):  # nine strategies, as in make bench
        table = pd.concat([table, table[table["strategy"] == "reinforce-lstm-controller"]
                           .assign(strategy=f"optuna:sampler-{i}")], ignore_index=True)
    fig = P.plot_final_distribution(table, {})
    fig.canvas.draw()
    ax = fig.axes[0]
    assert not _overlaps(ax.get_yticklabels()) and not _overlaps(ax.get_xticklabels())
    curves = A.anytime_curves(traj, runs, np.random.default_rng(0), axes=("time",), n_boot=50)
    fig = P.plot_anytime(curves, "time", "incumbent_regret", {}, trainings={("sim", "toy", 1): 100.0})
    fig.canvas.draw()
    ax = fig.axes[0]
    assert not _overlaps(ax.get_xticklabels(which="both")) and not _overlaps(ax.get_yticklabels(which="both"))
    assert any("mean full trainings" in a.get_xlabel() for a in fig.axes[0].child_axes)


def test_no_band_is_drawn_from_a_single_run(small_study):
    traj, runs = small_study
    one = runs[runs["seed"] == 3]  # one run per strategy
    curves = A.anytime_curves(traj, one, np.random.default_rng(0), axes=("evals",), n_boot=50)
    fig = P.plot_anytime(curves, "evals", "incumbent_final", {})
    ax = fig.axes[0]
    assert not ax.collections  # no fill_between band at all
    assert all("one run, no band" in t.get_text() for t in ax.get_legend().get_texts())
    both = A.anytime_curves(traj, runs, np.random.default_rng(0), axes=("evals",), n_boot=50)
    assert P.plot_anytime(both, "evals", "incumbent_final", {}).axes[0].collections  # n > 1: bands


def _new_columns(traj: pd.DataFrame) -> pd.DataFrame:
    """The trajectory columns of the runner contract after issue 9 (proposal ids, lineage, kind)."""
    out = traj.copy()
    out["proposal_id"] = out.groupby("run_id").cumcount()
    out["parent_id"] = -1
    out["kind"] = "fresh"
    out["cum_cost"] = out["cost"]
    return out


def test_report_on_frames_with_and_without_the_new_trajectory_columns(small_study, tmp_path, monkeypatch):
    monkeypatch.setattr("nasarena.results.report.make_figures", lambda *a, **k: {})
    traj, runs = small_study
    old = write_report(tmp_path, tmp_path / "old", study=SimpleNamespace(trajectories=traj, runs=runs),
                       n_boot=100)
    new = write_report(tmp_path, tmp_path / "new",
                       study=SimpleNamespace(trajectories=_new_columns(traj), runs=runs), n_boot=100)
    for name in ("summary.csv", "verdict.csv", "comparisons.csv"):
        pd.testing.assert_frame_equal(pd.read_csv(old[name]), pd.read_csv(new[name]))
    assert new["report.html"].read_text() == old["report.html"].read_text().replace("/old", "/new")
    # shared work (a supernet step) is a row with no architecture that never becomes the incumbent
    first = _new_columns(traj).groupby("run_id").head(1).copy()
    first = first.assign(kind="shared", arch="", score=np.nan, params=np.nan, flops=np.nan,
                         time=first["time"] / 2, eval_index=0, parent_id=-1,
                         incumbent_final=np.nan, incumbent_regret=np.nan, incumbent_params=np.nan,
                         incumbent_score=np.nan)
    shared = pd.concat([first, _new_columns(traj)], ignore_index=True)
    shared["eval_index"] = shared.sort_values(["run_id", "time"]).groupby("run_id").cumcount() + 1
    with_shared = write_report(tmp_path, tmp_path / "shared", n_boot=100,
                               study=SimpleNamespace(trajectories=shared, runs=runs))
    v_old, v_shared = pd.read_csv(old["verdict.csv"]), pd.read_csv(with_shared["verdict.csv"])
    assert list(v_shared["design"]) == list(v_old["design"])
    pd.testing.assert_series_equal(v_shared["median_evolution"], v_old["median_evolution"])  # same finals


def test_report_when_no_evaluation_finished(small_study, tmp_path):
    """Every run completed without a finished evaluation (nothing fit the budget): the report is
    written, says so, and tests nothing, instead of crashing in seaborn."""
    _, runs = small_study
    traj = _new_columns(small_study[0]).iloc[:0]
    runs = runs.assign(status="ok", n_evals=0)
    paths = write_report(tmp_path, study=SimpleNamespace(trajectories=traj, runs=runs, meta=[]), n_boot=50)
    html = paths["report.html"].read_text()
    assert "runs without a finished evaluation" in html and "48 (nothing fit the budget" in html
    assert set(pd.read_csv(paths["verdict.csv"])["verdict"]) == {"not tested"}
    md = paths["report.md"].read_text()
    assert "| claim |" not in md and md.count("— not tested. Not tested: needs at least two") == 3
    assert "Nothing could be tested" in md
    assert "; rank = —;" in md  # no final metric, no rank


def test_studies_with_several_settings_get_average_ranks_and_a_cd_diagram(small_study, tmp_path, monkeypatch):
    def only_extra(curves, table, out_dir, **kwargs):  # the CD diagram, not the eight other figures
        return {name: P.save_figure(make(), out_dir, name) for name, make in kwargs["extra"].items()}

    monkeypatch.setattr("nasarena.results.report.make_figures", only_extra)
    traj, runs = small_study
    trajs, runs_all = [], []
    for i, ds in enumerate(("toy", "toy2", "toy3")):
        # a different strategy wins on each dataset
        shift = {"random": 0.0, "evolution": 0.1 * i, "reinforce": -0.1 * i, "regularized-evolution": 0.05}
        t = traj.assign(dataset=ds, run_id=traj["run_id"] + ds)
        t["incumbent_final"] = t["incumbent_final"] + t["strategy"].map(shift)
        trajs.append(t)
        runs_all.append(runs.assign(dataset=ds, run_id=runs["run_id"] + ds))
    study = SimpleNamespace(trajectories=pd.concat(trajs, ignore_index=True),
                            runs=pd.concat(runs_all, ignore_index=True), meta=[])
    paths = write_report(tmp_path, study=study, n_boot=50)
    ranks = pd.read_csv(paths["ranks_final.csv"])
    assert list(ranks.columns[:2]) == ["strategy", "average rank"] and len(ranks) == 4
    assert ranks["average rank"].is_monotonic_increasing
    md = paths["report.md"].read_text()
    assert "Average ranks across settings (Demšar 2006)" in md and "Nemenyi critical difference CD" in md
    assert paths["figures/critical_difference.png"].is_file()


def test_budget_is_stated_in_seconds_and_mean_full_trainings():
    from nasarena.results.report import budget_text

    runs = pd.DataFrame({"max_time": [274198.0, 274198.0], "max_evals": [None, None]})
    assert budget_text(runs, {("nb201-lite", "cifar10-valid", 1): 1828.0}) == \
        "simulated time 274,198 s (= 150 mean full trainings of 1,828 s)"
    assert budget_text(runs, {}) == "simulated time 274,198 s"


def test_verdict_table_shows_the_location_each_test_is_about(synthetic_report):
    from nasarena.results.tables import verdict_display

    shown = verdict_display(pd.read_csv(synthetic_report["verdict.csv"])).set_index("claim")
    column = shown["difference evo − rl [95% CI]"]
    assert column["same final accuracy"].startswith("mean ")  # TOST compares means
    assert column["evolution finds smaller models"].startswith("median ")  # the rank test's location
    assert set(shown["verdict"]) <= {"holds", "refuted", "inconclusive"}
