"""The macro-space supernet (chain, residual): channel-sliced weight sharing; rsps, enas, gdas, darts
and setn on it.

Tiny: 2-3 layer spaces at width_mult 0.25 (widths 4, 8, 16), 8-16 px generated images, a few dozen
of them, 2 supernet epochs, a 1-epoch live retraining as the final metric.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nasarena.bench.config import Budget, RunConfig
from nasarena.bench.runner import run
from nasarena.errors import ConfigError, StrategyError, UnsupportedError
from nasarena.estimators.base import SharedWork
from nasarena.estimators.live.oracle import LiveOracle
from nasarena.estimators.oneshot.macro_oracle import MacroSupernetOracle, MacroSupernetSearch
from nasarena.estimators.oneshot.macro_supernet import build_macro_supernet, positions
from nasarena.estimators.oneshot.quality import sample_architectures
from nasarena.estimators.oneshot.settings import SearchSettings
from nasarena.estimators.oneshot.supernet import Fixed, Hard, Joint
from nasarena.registry import make_space
from nasarena.results import schema as S

EPOCHS = 2
TINY = {
    "space": "chain",
    "max_layers": 2,
    "epochs": EPOCHS,
    "width_mult": 0.25,
    "synthetic_train": 48,
    "synthetic_valid": 8,
    "synthetic_test": 16,
    "synthetic_resolution": 8,
    "score_images": 16,
    "num_threads": 1,
    "final_fidelity": "epochs=1,width_mult=0.25",
    "final_cache_dir": "none",
}
KWARGS = {
    "darts": {"batch_size": 16},
    "setn": {"batch_size": 16, "candidates": 4},
    "gdas": {"batch_size": 16},
    "rsps": {"batch_size": 16, "candidates": 4},
    "enas": {"batch_size": 16, "candidates": 3, "controller_samples": 3, "weight_samples": 2},
}


@pytest.mark.parametrize("name", ["chain", "residual"])
def test_one_architecture_of_the_supernet_is_the_standalone_network_with_its_slices(name: str) -> None:
    space = make_space(name, max_layers=3)
    net = build_macro_supernet(space, 10, 0.25, torch.Generator().manual_seed(1)).train()
    x = torch.randn(4, 3, 16, 16, generator=torch.Generator().manual_seed(2))
    rng = np.random.default_rng(0)
    kinds = set()
    for _ in range(25):
        arch = space.sample(rng)
        kinds.update(layer.op for layer in space.effective(arch))
        alone = net.extract(arch, 16).train()  # train mode: batch statistics, like the supernet's
        assert torch.equal(net(x, Fixed(arch)), alone(x)), space.to_string(arch)
    assert {"conv3x3", "sep3x3"} <= kinds or len(kinds) >= 4  # the sample exercised several ops


def test_architectures_share_the_slices_of_a_position() -> None:
    space = make_space("chain", max_layers=2)
    net = build_macro_supernet(space, 10, 0.25, torch.Generator().manual_seed(0))
    wide = space.from_string("conv3x3:64:s2")  # conv3x3:16's slice [:4, :4] is inside its [:16, :4]
    x = torch.randn(4, 3, 8, 8)
    before = net(x, Fixed(wide)).detach()
    with torch.no_grad():
        net.layers[0].conv["conv3x3"].weight[:4, :4] += 1.0
    assert not torch.allclose(net(x, Fixed(wide)), before)
    # an identity layer forwards its input: the next layer keeps its own position's weights
    assert positions(space, space.from_string("identity/conv3x3:16:s1")) == [1]


def test_the_macro_supernet_refuses_other_modes_joint_on_residual_and_dense() -> None:
    net = build_macro_supernet(make_space("chain", max_layers=2), 10, 0.25)
    with pytest.raises(ConfigError, match="Fixed, Hard or Joint"):
        net(torch.randn(2, 3, 8, 8), (0, 0, 0, 0, 0, 0, 0))
    residual = build_macro_supernet(make_space("residual", max_layers=2), 10, 0.25)
    with pytest.raises(ConfigError, match="residual supernet has no joint mode"):
        residual(torch.randn(2, 3, 8, 8), Joint(torch.ones(1)))
    with pytest.raises(ConfigError, match="chain and residual"):
        MacroSupernetOracle(space="dense")


def _one_hot(space, arch) -> torch.Tensor:
    cards = space.cardinalities
    w = torch.zeros(len(cards), max(cards))
    w[torch.arange(len(arch)), torch.tensor(arch)] = 1.0
    return w


def test_joint_mode_with_one_hot_weights_is_the_network_of_those_choices() -> None:
    space = make_space("chain", max_layers=3)
    net = build_macro_supernet(space, 10, 0.25, torch.Generator().manual_seed(5)).train()
    x = torch.randn(4, 3, 16, 16, generator=torch.Generator().manual_seed(6))
    rng = np.random.default_rng(1)
    kinds = set()
    for _ in range(25):  # depths, widths, strides, pools and identities (which vanish) included
        arch = space.sample(rng)
        kinds.update(layer.op for layer in space.layers(arch))
        diff = (net(x, Joint(_one_hot(space, arch))) - net(x, Fixed(arch))).abs().max()
        assert diff < 1e-6, space.to_string(arch)
    assert len(kinds) >= 5


def test_joint_mode_gives_every_decision_a_gradient_and_the_masked_choices_none() -> None:
    tiny = MacroSupernetOracle(**TINY)
    search = MacroSupernetSearch(tiny.data(), SearchSettings("darts", batch_size=16), EPOCHS, tiny.space,
                                 0.25, 3, score_images=16)
    x, y = search._batch(search.a_idx[:8])
    loss = torch.nn.functional.cross_entropy(search.net(x, search.joint(search.alphas)), y)
    loss.backward()
    grad = search.alphas.grad
    assert all(grad[d, :n].abs().min() > 0 for d, n in enumerate(tiny.space.cardinalities))
    assert (grad[~search.mask] == 0).all()
    # the stride is not mixed: its argmax (1 where the op's argmax is the identity) runs
    assert search.net.joint_strides(_one_hot(tiny.space, tiny.space.from_string("identity/conv3x3:16:s2"))
                                    ) == [1, 2]


@pytest.fixture(scope="module")
def oracle() -> MacroSupernetOracle:
    return MacroSupernetOracle(**TINY)


def _run(name: str, oracle: MacroSupernetOracle, seed: int = 0):
    result = run(RunConfig(name, KWARGS[name], "macro-supernet", TINY, seed, Budget(max_evals=1000)), oracle)
    assert result.ok, result.error
    return result


@pytest.mark.parametrize("name", sorted(KWARGS))
def test_every_method_runs_end_to_end_on_chain(name: str, oracle: MacroSupernetOracle) -> None:
    result = _run(name, oracle)
    t = result.trajectory
    shared = t[t[S.KIND] == "shared"]
    assert len(shared) == EPOCHS and (shared[S.COST] > 0).all()
    record = result.meta["strategy_config"]
    modes = {"rsps": "uniform", "enas": "controller", "gdas": "gumbel", "darts": "joint", "setn": "sampled"}
    assert record["weight_mode"] == modes[name]
    per_epoch = record["per_epoch"]
    live = LiveOracle("synthetic", [TINY["final_fidelity"]], cache_dir="none", num_threads=1,
                      space=oracle.space, synthetic_train=48, synthetic_valid=8, synthetic_test=16,
                      synthetic_resolution=8)
    for k in range(1, EPOCHS + 1):  # after each epoch the derived architecture is the incumbent
        after = t.loc[t.index[t[S.KIND] == "shared"][k - 1] + 1 :]
        last = after[after[S.FIDELITY] == f"epochs={k}"].iloc[-1]
        assert last[S.INC_ARCH] == per_epoch[k - 1]["derived"]
        assert 0.0 <= per_epoch[k - 1]["param_free_share"] <= 1.0
        # ... reported in a live retraining from scratch at the final fidelity (the harness's number)
        arch = oracle.space.from_string(last[S.INC_ARCH])
        assert last[S.INC_FINAL] == pytest.approx(live.final_metric(arch))
    assert t[S.TIME].iloc[-1] == pytest.approx(t[S.COST].sum())
    assert "retrained from scratch" in result.meta["oracle"]["final_metric_description"]


@pytest.mark.parametrize("name", ["darts", "setn", "gdas"])
def test_methods_without_their_mode_are_refused_on_residual_before_any_work(name: str) -> None:
    tiny = {**TINY, "space": "residual"}
    fresh = MacroSupernetOracle(**tiny)
    refusal = r"supernet mode '\w+'.*space 'residual'.*\(it trains 'controller', 'uniform'\)"
    with pytest.raises(UnsupportedError, match=refusal):
        run(RunConfig(name, {}, "macro-supernet", tiny, 0, Budget(max_evals=10)), fresh)
    assert fresh.search is None  # nothing was trained


def test_gumbel_mode_computes_the_sampled_network_and_reaches_every_active_decision() -> None:
    space = make_space("chain", max_layers=3)
    net = build_macro_supernet(space, 10, 0.25, torch.Generator().manual_seed(3)).train()
    x = torch.randn(4, 3, 16, 16, generator=torch.Generator().manual_seed(4))
    arch = space.from_string("conv3x3:32:s2/maxpool3x3:s1")  # depth 2: layer 3 does not exist
    cards = space.cardinalities
    alphas = torch.zeros(len(cards), max(cards), requires_grad=True)
    probs = torch.softmax(alphas, dim=-1)
    one_hot = torch.zeros_like(probs)
    one_hot[torch.arange(len(arch)), torch.tensor(arch)] = 1.0
    out = net(x, Hard(tuple(arch), one_hot - probs.detach() + probs))
    assert torch.allclose(out, net(x, Fixed(arch)), atol=1e-5)
    out.logsumexp(1).sum().backward()
    reached = {space.decisions[d].name for d in range(len(cards)) if alphas.grad[d].abs().sum() > 0}
    assert reached == {"depth", "op1", "width1", "stride1", "op2", "stride2"}  # active ones only


def test_rsps_runs_on_residual_and_the_oracle_refuses_a_mixing_method_itself() -> None:
    tiny = {**TINY, "space": "residual", "max_layers": 3, "epochs": 1}
    oracle = MacroSupernetOracle(**tiny)
    cfg = RunConfig("rsps", KWARGS["rsps"], "macro-supernet", tiny, 0, Budget(max_evals=100))
    result = run(cfg, oracle)
    assert result.ok, result.error
    t = result.trajectory
    assert list(t[S.KIND]).count("shared") == 1 and t[S.INC_FINAL].notna().iloc[-1]
    work = SharedWork("supernet", 1, {"method": "darts", "epoch": 1})
    with pytest.raises(StrategyError, match="one architecture per step"):  # asked directly, not by the runner
        oracle.run_shared(work, np.random.default_rng(0))


def test_quality_sample_ranks_the_macro_supernet_against_live_retraining() -> None:
    """quality_sample on a macro space: the truth is the final metric, a live retraining from scratch."""
    tiny = {**TINY, "quality_sample": 3, "quality_seed": 1}
    measured = MacroSupernetOracle(**tiny)
    cfg = RunConfig("rsps", KWARGS["rsps"], "macro-supernet", tiny, 0, Budget(max_evals=1000))
    result = run(cfg, measured)
    assert result.ok, result.error
    q = result.meta["oracle_measures"]["supernet_quality"]
    assert q["n"] == 3 and q["sample"]["seed"] == 1
    assert "retrained from scratch" in q["truth"]
    assert q["budget"]["space"] == "chain" and q["budget"]["width_mult"] == 0.25
    assert q["budget"]["epochs"] == EPOCHS
    archs = sample_architectures(measured.space, 3, np.random.default_rng(1))
    truth = [measured.final_metric(a) for a in archs]
    assert q["best_truth"] == pytest.approx(max(truth))
    plain = run(RunConfig("rsps", KWARGS["rsps"], "macro-supernet", TINY, 0, Budget(max_evals=1000)),
                MacroSupernetOracle(**TINY))
    assert "oracle_measures" not in plain.meta  # off by default
