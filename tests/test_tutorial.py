"""The tutorial stays true: its Python blocks run, its strategy file matches, its command works."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from nasarena.bench.cli import main

ROOT = Path(__file__).resolve().parents[1]
TUTORIAL = ROOT / "docs" / "tutorial.md"
FENCE = re.compile(r"^```(\w+)\n(.*?)^```", re.S | re.M)


def blocks(kind: str) -> list[str]:
    return [body for lang, body in FENCE.findall(TUTORIAL.read_text()) if lang == kind]


def test_tutorial_strategy_is_the_example_file() -> None:
    assert blocks("python")[0] == (ROOT / "examples" / "my_strategy.py").read_text()


def test_tutorial_python_blocks_run_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # the blocks name examples/my_strategy.py relative to the repository
    namespace: dict = {"__name__": "tutorial"}
    from nasarena.registry import STRATEGIES

    try:
        for i, code in enumerate(blocks("python")):
            exec(compile(code, f"{TUTORIAL}:block{i}", "exec"), namespace)  # noqa: S102
    finally:
        STRATEGIES._entries.pop("stuck-climber", None)  # the tutorial registers a name; undo it
    assert namespace["MyStrategy"].name == "stuck-climber"


def test_tutorial_compare_command_runs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(ROOT)
    (line,) = [ln for b in blocks("bash") for ln in b.splitlines() if ln.startswith("nasarena compare")]
    argv = shlex.split(line)[1:]
    argv[argv.index("--seeds") + 1] = "0-1"  # the tutorial's command, with a tiny budget
    argv += ["--budget-evals", "12", "--baselines", "random,regularized-evolution", "--jobs", "1",
             "--out", str(tmp_path / "cmp"), "--no-progress"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert re.search(r"stuck-climber: rank [1-3]/3 on final metric", out)
    compare_md = (tmp_path / "cmp" / "report" / "compare.md").read_text()
    assert "| random |" in compare_md and "| regularized-evolution |" in compare_md
    assert (tmp_path / "cmp" / "report" / "report.html").is_file()


def test_tutorial_lists_the_baselines_compare_runs() -> None:
    """The tutorial's baseline list is exactly ``nasarena compare``'s default (it once said 7 of 9)."""
    from nasarena.bench.cli_compare import DEFAULT_BASELINES

    text = TUTORIAL.read_text()
    start = text.index("runs your strategy and the")
    listed = re.findall(r"`([\w:-]+)`", text[start:text.index(" on NB201-lite", start)])
    assert tuple(listed) == DEFAULT_BASELINES
