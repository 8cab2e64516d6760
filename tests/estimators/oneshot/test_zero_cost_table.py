"""The zero-cost correlation benchmark: resumable chunks, exact shared-pass proxies, correlation code."""

from __future__ import annotations

import copy
import importlib.util
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats

from nasarena.estimators.oneshot import proxies as P
from nasarena.spaces.nb201_torch import build_network

ROOT = Path(__file__).resolve().parents[3]
TINY = ["--channels", "2", "--cells", "1", "--batch-size", "4"]


@pytest.fixture(scope="module")
def zc():
    """The benchmark script as a module (benchmarks/ is not a package)."""
    path = ROOT / "benchmarks" / "zero_cost_proxies.py"
    spec = importlib.util.spec_from_file_location("zero_cost_proxies", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["zero_cost_proxies"] = module
    spec.loader.exec_module(module)
    return module


def test_resume_scores_only_missing_architectures(zc, tmp_path, monkeypatch, capsys):
    calls: list[int] = []
    real = zc.score_data_free

    def counting(arch, index, a):
        calls.append(index)
        return real(arch, index, a)

    monkeypatch.setattr(zc, "score_data_free", counting)
    out = str(tmp_path / "zc")
    zc.main(["--out", out, "--group", "data-free", "--limit", "2", "--chunk", "1", *TINY])
    assert len(calls) == 2 and len(list((tmp_path / "zc" / "data-free").glob("chunk-*.csv"))) == 2
    # a restart with a larger limit and another chunk size scores only the third architecture
    zc.main(["--out", out, "--group", "data-free", "--limit", "3", "--chunk", "2", "--table", *TINY])
    assert len(calls) == 3 and len(set(calls)) == 3
    table = capsys.readouterr().out
    assert "| synflow | 3 |" in table and "| params | 3 |" in table
    zc.main(["--out", out, "--export", str(tmp_path / "s.parquet"), *TINY])
    exported = pd.read_parquet(tmp_path / "s.parquet")
    assert len(exported) == 3 and exported["synflow_ImageNet16-120"].notna().all()
    zc.main(["--out", out, "--group", "data", "--limit", "1", *TINY])
    df = zc.load_results(Path(out))
    assert len(df[df.proxy == "grasp"]) == 3 and set(df.dataset) == set(zc.DATASETS)
    # other settings in the same folder: refused, nothing overwritten
    with pytest.raises(SystemExit):
        zc.main(["--out", out, "--group", "data-free", "--limit", "3", "--channels", "4", "--cells", "1"])
    assert "holds results made with" in capsys.readouterr().err


def test_correlations_equal_scipy_and_skip_non_finite(zc):
    scores = np.array([1.0, 2.0, 3.0, 4.0, np.nan])
    truth = np.array([1.0, 3.0, 2.0, 4.0, 9.0])
    n, bad, rho, tau = zc.correlations(scores, truth)
    assert (n, bad) == (4, 1)
    assert rho == pytest.approx(0.8) and tau == pytest.approx(2 / 3)  # by hand: 1 discordant pair of 6
    rng = np.random.default_rng(0)
    s, t = rng.normal(size=50), rng.normal(size=50)
    _, _, rho, tau = zc.correlations(s, t)
    assert rho == stats.spearmanr(s, t).statistic and tau == stats.kendalltau(s, t).statistic


def test_network_heads_match_separate_builds(zc):
    arch = (3, 0, 4, 3, 0, 1)
    net, heads = zc.network_heads(arch, [10, 100], 2, 1, 123)
    for k, head in zip([10, 100], heads, strict=True):
        ref = build_network(arch, k, 2, 1, generator=torch.Generator().manual_seed(123)).state_dict()
        have = {**net.state_dict(), **{f"classifier.{n}": v for n, v in head.state_dict().items()}}
        assert have.keys() == ref.keys() and all(torch.equal(have[n], ref[n]) for n in ref)


def test_shared_passes_give_the_separate_proxies(zc):
    arch = (3, 2, 4, 3, 1, 1)
    net, heads = zc.network_heads(arch, [10, 100], 4, 1, 7)
    shared = P.synflow_heads(zc.Features(net), heads, (3, 16, 16))
    for k, got in zip([10, 100], shared, strict=True):
        ref = P.synflow(build_network(arch, k, 4, 1, generator=torch.Generator().manual_seed(7)),
                        torch.zeros(1, 3, 16, 16), None)
        assert got == pytest.approx(ref, rel=1e-10)
    x = torch.randn(6, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    y = torch.tensor([0, 1, 2, 3, 4, 5])
    net = build_network(arch, 10, 4, 1, generator=torch.Generator().manual_seed(3))
    fused = P.data_proxies(copy.deepcopy(net), x, y)
    for name in zc.GROUPS["data"]:
        assert fused[name] == pytest.approx(P.FUNCTIONS[name](copy.deepcopy(net), x, y), rel=1e-5), name


def test_truth_is_matched_by_architecture_string(zc):
    from nasarena.spaces.nb201 import NB201Space

    truth = zc.truth_table(shared=None)
    space = NB201Space()
    # the best cifar10 architecture (official index 6111, 94.373 %: ../shared/data/nb201/README.md)
    best = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
    i = space.index(space.from_string(best))
    assert i != 6111 and truth.cifar10[i] == pytest.approx(94.373, abs=1e-3) == truth.cifar10.max()


def test_synflow_heads_refuses_used_batchnorm(zc):
    """The batch-of-two shortcut is exact only while BatchNorm is linear (zero mean and shift)."""
    net, heads = zc.network_heads((3, 3, 3, 3, 3, 3), [10], 2, 1, 0)
    net.train()
    net(torch.randn(4, 3, 8, 8))  # updates the running means
    with pytest.raises(ValueError, match="freshly initialised BatchNorm"):
        P.synflow_heads(zc.Features(net), heads, (3, 8, 8))
