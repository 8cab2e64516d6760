"""Careless input through the real entry point: one clear line, a non-zero exit, never a traceback.

Every case goes through :func:`nasarena.bench.cli.main` with all command modules loaded, exactly
as the ``nasarena`` script runs; an exception escaping ``main`` fails the test (that is the
traceback a user would see).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import nasarena.bench.cli as cli

FAKES = str(Path(__file__).with_name("_fakes.py"))
SAMPLER = f"{FAKES}:Sampler"


def one_line_error(capsys, argv: list[str]) -> str:
    """Run ``argv``; assert a non-zero exit and exactly one ``nasarena: error:`` line; return it."""
    rc = cli.main(argv)
    err = capsys.readouterr().err
    assert rc != 0, f"{argv} exited 0"
    assert "Traceback" not in err
    lines = [ln for ln in err.strip().splitlines() if ln.strip() and not ln.startswith(("INFO", "WARNING"))]
    assert len(lines) == 1 and lines[0].startswith("nasarena: error: "), err
    return lines[0]


def run_argv(out: Path | str, *extra: str) -> list[str]:
    return ["run", "--strategies", SAMPLER, "--oracle", "nb201-lite", "--seeds", "0", "--budget-evals", "2",
            "--jobs", "1", "--no-progress", "--out", str(out), *extra]


@pytest.mark.parametrize("budget,field", [("{max_evals: twenty}", "max_evals"),
                                          ("{max_time: '1h'}", "max_time"), ("5", "budget")])
def test_bad_yaml_budget_is_one_line(tmp_path, capsys, budget, field):
    cfg = tmp_path / "study.yaml"
    cfg.write_text(f"strategies: ['{SAMPLER}']\noracle: nb201-lite\nseeds: 0\nbudget: {budget}\n")
    line = one_line_error(capsys, ["run", "--config", str(cfg), "--out", str(tmp_path / "s")])
    assert field in line


def _unwritable(tmp_path: Path) -> Path:
    """A folder nobody may create: under a read-only dir (non-root), or under /proc (root)."""
    if os.geteuid() == 0:
        return Path("/proc/nasarena-no-such/out")
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    return ro / "out"


def test_out_that_is_a_file_under_a_file_or_unwritable_is_one_line(tmp_path, capsys):
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    assert "is a file" in one_line_error(capsys, run_argv(a_file))
    assert "a_file" in one_line_error(capsys, run_argv(a_file / "sub"))
    line = one_line_error(capsys, run_argv(_unwritable(tmp_path)))
    assert "cannot" in line or "not writable" in line


def test_out_is_checked_before_the_pool_starts(tmp_path, capsys, monkeypatch):
    import nasarena.bench.study as study

    def no_pool(*_a, **_k):
        raise AssertionError("the pool started before --out was checked")

    monkeypatch.setattr(study, "ProcessPoolExecutor", no_pool)
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    one_line_error(capsys, run_argv(a_file, "--jobs", "2"))


@pytest.mark.parametrize("jobs", ["0", "-1"])
def test_jobs_must_be_positive(tmp_path, capsys, jobs):
    line = one_line_error(capsys, [*run_argv(tmp_path / "s"), "--jobs", jobs])
    assert "--jobs" in line
    assert not (tmp_path / "s").exists()


@pytest.fixture(scope="module")
def small_study(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("study")
    assert cli.main(["run", "--strategies", f"{SAMPLER},{FAKES}:Recorder", "--oracle", "nb201-lite",
                     "--seeds", "0-2", "--budget-evals", "5", "--jobs", "1", "--no-progress",
                     "--out", str(out)]) == 0
    return out


@pytest.mark.parametrize("flag", ["--reference", "--rl", "--evolution"])
def test_report_with_a_strategy_not_in_the_study_exits_non_zero(small_study, tmp_path, capsys, flag):
    line = one_line_error(capsys, ["report", str(small_study), "--out", str(tmp_path / "r"), flag, "bogus"])
    assert "bogus" in line and "sampler" in line.lower()


@pytest.mark.parametrize("command", ["report", "pareto"])
def test_report_out_unwritable_is_one_line(small_study, tmp_path, capsys, command):
    line = one_line_error(capsys, [command, str(small_study), "--out", str(_unwritable(tmp_path))])
    assert f"{command} --out" in line and "cannot" in line
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    line = one_line_error(capsys, [command, str(small_study), "--out", str(a_file)])
    assert "a_file is a file" in line


def test_nothing_fits_the_budget_warns_and_report_says_so_without_a_traceback(tmp_path, capsys, caplog):
    out = tmp_path / "s"
    assert cli.main(["run", "--strategies", SAMPLER, "--oracle", "nb201-lite", "--seeds", "0-1",
                     "--budget-time", "10", "--jobs", "1", "--no-progress", "--out", str(out)]) == 0
    assert "no evaluation finished" in caplog.text and "--budget-time" in caplog.text
    assert cli.main(["report", str(out), "--bootstrap", "100"]) == 0
    err = capsys.readouterr().err
    assert "Traceback" not in err and "no evaluation finished" in err and "--budget-time" in err


def test_compare_where_nothing_fits_the_budget_has_no_traceback(tmp_path, capsys):
    assert cli.main(["compare", SAMPLER, "--baselines", "random", "--seeds", "0-1", "--budget-time", "10",
                     "--skip-conformance", "--jobs", "1", "--no-progress", "--out", str(tmp_path / "c")]) == 0
    text = (tmp_path / "c" / "report" / "compare.md").read_text()
    assert "no completed run with a finished evaluation" in text


def test_import_of_a_file_that_is_not_the_benchmark_is_one_line(tmp_path, capsys):
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"\x80\x04this is not a benchmark" * 10)
    line = one_line_error(capsys, ["data", "import-nb201", str(junk), "--trust",
                                   "--out", str(tmp_path / "cache")])
    assert "junk.pth" in line


def test_tabulate_on_a_folder_that_is_not_a_live_cache_is_one_line(tmp_path, capsys):
    folder = tmp_path / "not-a-cache"
    folder.mkdir()
    (folder / "x.parquet").write_bytes(b"no")
    line = one_line_error(capsys, ["tabulate", str(folder), "--out", str(tmp_path / "t.parquet")])
    assert "not-a-cache" in line or "x.parquet" in line


def test_dataset_typo_suggests_the_closest_name(tmp_path, capsys):
    line = one_line_error(capsys, ["run", "--strategies", SAMPLER, "--oracle", "nb201-lite", "--dataset",
                                   "cifar-100", "--seeds", "0", "--budget-evals", "2",
                                   "--out", str(tmp_path / "s")])
    assert "did you mean" in line and "'cifar100'" in line


@pytest.fixture
def fresh_logging():
    """No handlers on the root logger, as in a fresh ``nasarena`` process (pytest's are restored)."""
    import logging

    root = logging.getLogger()
    saved = root.handlers[:], root.level
    yield root
    root.handlers[:], root.level = saved[0], saved[1]


def test_quiet_by_default_and_one_info_line_per_run_with_verbose(tmp_path, capsys, fresh_logging):
    argv = ["run", "--strategies", SAMPLER, "--oracle", "nb201-lite", "--seeds", "0-2", "--budget-evals", "2",
            "--jobs", "1", "--no-progress"]
    fresh_logging.handlers.clear()
    assert cli.main([*argv, "--out", str(tmp_path / "a")]) == 0
    assert "INFO" not in capsys.readouterr().err
    fresh_logging.handlers.clear()
    assert cli.main(["-v", *argv, "--out", str(tmp_path / "b")]) == 0
    err = capsys.readouterr().err
    assert sum(": ok, 2 evaluations" in ln for ln in err.splitlines()) == 3


def test_report_lists_unreadable_run_files_and_reports_the_rest(small_study, tmp_path, capsys):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(small_study, copy)
    victim = sorted((copy / "runs").glob("*.parquet"))[0]
    victim.write_bytes(b"")
    assert cli.main(["report", str(copy), "--bootstrap", "100"]) == 0
    out = capsys.readouterr().out
    assert f"left out (unreadable): {victim.name}" in out and "report.html" in out
    report = (copy / "report" / "report.md").read_text()
    assert f"run files left out (unreadable)**: 1: {victim.name}" in report


def test_a_second_run_on_a_locked_folder_is_one_line(tmp_path, capsys):
    from nasarena.bench.folder import study_lock

    out = tmp_path / "s"
    out.mkdir()
    with study_lock(out):  # a flock on a second descriptor conflicts even within one process
        line = one_line_error(capsys, run_argv(out))
    assert "another nasarena process" in line
    assert cli.main(run_argv(out)) == 0


def test_every_command_module_registers_its_commands() -> None:
    """The parser loads every listed module: a renamed or broken one fails here instead of its
    commands silently vanishing from ``nasarena --help``."""
    parser = cli.build_parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices
    for expected in ("run", "bench", "list", "report", "compare", "pareto", "tabulate", "data",
                     "supernet-quality"):
        assert expected in commands, expected


def test_a_missing_command_module_is_an_error_not_a_silently_missing_command(monkeypatch) -> None:
    monkeypatch.setattr(cli, "COMMAND_MODULES", (*cli.COMMAND_MODULES, "nasarena.no_such_cli"))
    with pytest.raises(ModuleNotFoundError):
        cli.build_parser()
