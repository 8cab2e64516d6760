"""``nasarena compare`` refuses a strategy that fails the conformance suite, and checks names."""

from __future__ import annotations

from pathlib import Path

import pytest

from nasarena.bench.cli import main

BROKEN = '''
import numpy as np
from nasarena.strategies.base import Strategy


class UsesGlobalRandom(Strategy):
    name = "global-random"

    def ask(self):
        return self.propose(tuple(int(np.random.randint(n)) for n in self.space.cardinalities))

    def tell(self, proposal, evaluation):
        pass
'''


def test_a_non_conforming_strategy_is_refused_with_the_failed_checks(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "broken.py"
    path.write_text(BROKEN)
    status = main(["compare", f"{path}:UsesGlobalRandom", "--jobs", "1", "--out", str(tmp_path / "o"),
                   "--no-progress"])
    err = capsys.readouterr().err
    assert status == 2
    assert "does not pass the conformance suite" in err and "determinism" in err
    assert not (tmp_path / "o").exists()  # nothing was run


def test_unknown_baseline_lists_valid_names(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["compare", "examples/my_strategy.py:MyStrategy", "--baselines", "random,annealing",
                   "--out", str(tmp_path / "o")])
    assert status == 2 and "'regularized-evolution'" in capsys.readouterr().err
