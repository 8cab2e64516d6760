"""The live oracle trains any trainable space: tiny live studies on each macro space and on NATS-size,
continue and warm start on a macro space, the space's own size knobs (seconds on a CPU)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from nasarena.bench.config import Budget, RunConfig
from nasarena.bench.runner import run
from nasarena.errors import ConfigError
from nasarena.estimators.base import Fidelity
from nasarena.estimators.live.oracle import CPU_LADDER, LiveOracle, cpu_ladder
from nasarena.registry import make_oracle, make_space
from nasarena.spaces.macro.cost import params_and_flops

LOW = Fidelity(epochs=1, width_mult=0.25)
HIGH = Fidelity(epochs=2, width_mult=0.25)


def _kwargs(cache: Path, space: str, **kw) -> dict:
    args = {"space": space, "dataset": "synthetic", "fidelities": f"{LOW.key()};{HIGH.key()}",
            "cache_dir": str(cache), "num_threads": 1, "batch_size": 32, "synthetic_train": 96,
            "synthetic_valid": 32, "synthetic_test": 32, "synthetic_resolution": 8}
    return {**args, **kw}


@pytest.mark.parametrize(("space", "strategies"), [("chain", ("random", "hyperband")),
                                                   ("residual", ("regularized-evolution",)),
                                                   ("dense", ("reinforce",))])
def test_tiny_live_study_on_a_macro_space(space: str, strategies: tuple[str, ...], tmp_path: Path) -> None:
    kwargs = _kwargs(tmp_path, space)
    oracle = make_oracle("live", **kwargs)
    assert oracle.space.name == space
    assert oracle.capabilities() == {"multi-fidelity", "continue", "warm-start"}
    for strategy in strategies:
        config = RunConfig(strategy, {}, "live", kwargs, seed=0, budget=Budget(max_evals=3))
        result = run(config, oracle)
        assert result.status == "ok", result.error
        traj = result.trajectory
        assert len(traj) == 3 and traj["score"].notna().all() and (traj["cost"] > 0).all()
        for text, params in zip(traj["arch"], traj["params"], strict=True):
            arch = oracle.space.from_string(text)  # the trajectory names the network actually trained
            assert params == params_and_flops(oracle.space, arch, 10, 8, 0.25, None)[0]
        assert math.isfinite(traj["incumbent_final"].iloc[-1])  # held-out test accuracy of the incumbent


def test_continue_and_warm_start_work_on_a_macro_space(tmp_path: Path) -> None:
    space = make_space("residual")
    arch = space.from_string("conv3x3:16:s1/sep3x3:32:s2+0/conv3x3:32:s1+1")
    other = space.from_string("conv3x3:16:s1/conv5x5:32:s2")
    reference = LiveOracle(**_kwargs(tmp_path / "a", "residual"))
    straight = reference.evaluate(arch, HIGH, np.random.default_rng(0))
    o = LiveOracle(**_kwargs(tmp_path / "b", "residual"))
    low = o.evaluate(arch, LOW, np.random.default_rng(0))
    high = o.evaluate(arch, HIGH, np.random.default_rng(0), start=low.handle)
    assert (high.score, high.curve) == (straight.score, straight.curve)  # bit for bit on a CPU
    # resumed from the low rung's checkpoint, so only its extra epochs were trained (and charged);
    # the seconds themselves are not compared: on a loaded machine they are noise
    assert high.extras["resumed"] == 1.0 and high.extras["continued_from_epochs"] == LOW.epochs
    warm = o.evaluate(other, LOW, np.random.default_rng(0), inherit=high.handle)
    assert 0 < warm.extras["inherited_tensors"] < warm.extras["model_tensors"]  # the stem, the first conv


def test_equal_strings_of_residual_and_dense_are_different_networks(tmp_path: Path) -> None:
    text = "conv3x3:16:s1/conv3x3:16:s1/conv3x3:16:s1+0"  # add in residual, concat in dense
    res = LiveOracle(**_kwargs(tmp_path, "residual"))
    dense = LiveOracle(**_kwargs(tmp_path, "dense"))  # the same cache folder
    a = res.evaluate(res.space.from_string(text), LOW, np.random.default_rng(0))
    b = dense.evaluate(dense.space.from_string(text), LOW, np.random.default_rng(0))
    assert b.extras["cached"] == 0.0 and a.params != b.params


def test_the_space_declares_the_size_knobs(tmp_path: Path) -> None:
    o = LiveOracle(**_kwargs(tmp_path, "dense", fidelities=None))
    assert o.fidelities == cpu_ladder(o.space)
    assert o.fidelities[0].key() == "epochs=1,data_fraction=0.5,width_mult=0.5"
    assert CPU_LADDER[0].key() == "epochs=1,data_fraction=0.5,channels=8,cells=1"  # NB201's, as stored
    ev = o.evaluate(o.space.from_string("conv3x3:32:s1"), o.fidelities[0], np.random.default_rng(0))
    assert ev.extras["width_mult"] == 0.5 and "channels" not in ev.extras
    with pytest.raises(ConfigError, match="no size knob channels; its knobs: width_mult"):
        LiveOracle(**_kwargs(tmp_path, "chain", fidelities="epochs=1,channels=8"))
    with pytest.raises(ConfigError, match="multiple of 4"):
        LiveOracle(**_kwargs(tmp_path, "chain", fidelities="epochs=1,resolution=6"))
    with pytest.raises(ConfigError, match="cannot be trained live"):
        LiveOracle(**_kwargs(tmp_path, "nbgraph"))
    nb201 = LiveOracle(**_kwargs(tmp_path, "nb201", fidelities="epochs=1,channels=4,cells=1"))
    assert nb201.variant == f"{nb201.splits.fingerprint}-{nb201.recipe.fingerprint()}"  # keys as before
    own = LiveOracle(**{**_kwargs(tmp_path, "chain"), "space": make_space("chain", stem_width=8)})
    assert own.variant.endswith(own.space.live_variant()) and own.variant != o.variant  # other networks


def test_nats_size_trains_live_through_the_same_path(tmp_path: Path) -> None:
    kwargs = _kwargs(tmp_path, "nats-sss", fidelities="epochs=1")
    oracle = make_oracle("live", **kwargs)
    result = run(RunConfig("random", {}, "live", kwargs, seed=0, budget=Budget(max_evals=2)), oracle)
    assert result.status == "ok", result.error
    arch = oracle.space.from_string(result.trajectory["arch"].iloc[0])
    assert result.trajectory["params"].iloc[0] == oracle.space.model_cost(arch, 10, 8, {})[0]
