"""One supernet oracle object serves a study's runs one after the other (a worker process keeps its
oracle): a run's results must not depend on which runs came before it in that process."""

from __future__ import annotations

from nasarena.bench.config import Budget, RunConfig
from nasarena.bench.runner import run
from nasarena.estimators.oneshot.oracle import SupernetOracle
from nasarena.results import schema as S

TINY = {"dataset": "synthetic", "epochs": 2, "channels": 4, "cells": 1, "synthetic_train": 64,
        "synthetic_valid": 8, "synthetic_test": 8, "score_images": 16, "num_threads": 1}
COLS = [S.ARCH, S.SCORE, S.INC_ARCH, S.INC_FINAL]


def test_a_run_after_a_one_shot_search_scores_as_on_a_fresh_oracle() -> None:
    random_cfg = RunConfig("random", {}, "supernet", TINY, 3, Budget(max_evals=4))
    fresh = run(random_cfg, SupernetOracle(**TINY))
    shared = SupernetOracle(**TINY)
    searched = run(RunConfig("darts", {"batch_size": 16}, "supernet", TINY, 0, Budget(max_evals=1000)),
                   shared)
    assert searched.ok, searched.error
    assert shared.search is not None and shared.search.done == 2  # the supernet darts trained
    after = run(random_cfg, shared)
    assert after.ok, after.error
    assert after.trajectory[COLS].equals(fresh.trajectory[COLS])
    assert shared.search is not None and shared.search.done == 0  # scored on a new, untrained supernet


def test_with_proxy_forwards_the_start_of_a_run_to_its_base() -> None:
    import numpy as np

    from nasarena.estimators.base import Fidelity
    from nasarena.estimators.oneshot.with_proxy import WithProxy

    wrapped = WithProxy(base="supernet", proxy_channels=4, proxy_cells=1, **TINY)
    arch = wrapped.space.sample(np.random.default_rng(0))
    wrapped.evaluate(arch, Fidelity(epochs=1), np.random.default_rng(0))
    assert wrapped.base.search is not None  # scoring built the base's (untrained) supernet
    wrapped.start_of_run()
    assert wrapped.base.search is None
