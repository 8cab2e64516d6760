"""Every registered oracle passes the oracle conformance suite (nasarena.estimators.conformance).

It lives here because the official oracles need this folder's fixture caches. The parametrisation
reads ``ORACLES.names()``: an oracle registered without a builder below fails, so new oracles are
checked too. Capabilities choose the checks (continue, shared work, warm start), not exceptions.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from nasarena.estimators.base import CONTINUE, Fidelity, Oracle
from nasarena.estimators.conformance import check_oracle, iter_checks
from nasarena.registry import ORACLES, make_oracle


def _table(tmp: Path, curves: bool) -> Oracle:
    """A 6-architecture two-fidelity table (cumulative costs), with or without a curve column."""
    space = make_oracle("nb201-lite", dataset="cifar10-valid").space
    rows = []
    for i in range(6):
        arch = space.to_string(space.from_index(37 * i + 1))
        for seed in (0, 1):
            for e in (4, 12):
                row = {"arch": arch, "fidelity": f"epochs={e}", "seed": seed, "score": 50 + i + seed + e,
                       "cost": 10.0 * e + i}
                if curves:
                    row["curve"] = str([float(50 + i + seed + k) for k in range(1, e + 1)])
                rows.append(row)
    path = tmp / ("curves.csv" if curves else "plain.csv")
    pd.DataFrame(rows).to_csv(path, index=False)
    return make_oracle("table", path=str(path))


def _live(tmp: Path) -> Oracle:
    return make_oracle("live", dataset="synthetic", cache_dir=str(tmp / "live"), num_threads=1,
                       batch_size=32, synthetic_train=64, synthetic_valid=16, synthetic_test=16,
                       fidelities=[Fidelity(epochs=1, channels=4, cells=1),
                                   Fidelity(epochs=2, channels=4, cells=1)])


BUILDERS: dict[str, Callable[[pytest.FixtureRequest, Path], list[tuple[str, Oracle, dict[str, Any]]]]] = {
    "nb201-lite": lambda r, t: [("nb201-lite", make_oracle("nb201-lite", dataset="cifar10-valid"), {})],
    "nb201-12ep": lambda r, t: [("nb201-12ep", make_oracle("nb201-12ep"), {})],
    "nas-bench-graph": lambda r, t: [("nas-bench-graph", make_oracle("nas-bench-graph"), {})],
    "table": lambda r, t: [("table", _table(t, curves=False), {}),
                           ("table+curves", _table(t, curves=True), {})],
    "live": lambda r, t: [("live", _live(t), {"n_archs": 2, "exact_costs": False})],
    "supernet": lambda r, t: [("supernet", make_oracle(
        "supernet", dataset="synthetic", epochs=2, channels=4, cells=1, synthetic_train=32, synthetic_valid=4,
        synthetic_test=4, score_images=16, num_threads=1), {"n_archs": 3, "exact_costs": False})],
    "macro-supernet": lambda r, t: [("macro-supernet", make_oracle(
        "macro-supernet", space="chain", max_layers=2, epochs=2, width_mult=0.25, synthetic_train=32,
        synthetic_valid=4, synthetic_test=8, synthetic_resolution=8, score_images=16, num_threads=1,
        final_fidelity="epochs=1,width_mult=0.25", final_cache_dir="none"),
        {"n_archs": 3, "exact_costs": False})],
    "zero-cost": lambda r, t: [(f"zero-cost+{p}", make_oracle("zero-cost", proxy=p, channels=4, cells=1,
                                                             batch_size=8, num_threads=1),
                                {"n_archs": 3, "exact_costs": False}) for p in ("synflow", "naswot")],
    "with-proxy": lambda r, t: [("with-proxy", make_oracle(
        "with-proxy", base="nb201-lite", dataset="cifar10-valid", proxy_channels=4, proxy_cells=1,
        proxy_batch_size=8, proxy_threads=1), {"exact_costs": False})],
    "nb201": lambda r, t: [
        ("nb201", make_oracle("nb201", dataset="cifar100", path=str(r.getfixturevalue("nb201_cache")),
                              epochs=(12, 200)), {}),
        ("nb201+full", make_oracle("nb201", dataset="cifar100", path=str(r.getfixturevalue("nb201_cache")),
                                   epochs=(12, 50, 200), schedule="full"), {})],
    "nats-tss": lambda r, t: [("nats-tss", make_oracle("nats-tss", dataset="cifar10",
                                                       path=str(r.getfixturevalue("tss_cache"))), {})],
    "nats-sss": lambda r, t: [("nats-sss+full", make_oracle(
        "nats-sss", dataset="cifar10", path=str(r.getfixturevalue("sss_cache")), epochs=(1, 12, 90),
        schedule="full"), {})],
}


class _HeldOnly:
    """Sample only architectures the small fixture caches hold (the rest are failed evaluations)."""

    @staticmethod
    def archs(oracle: Any) -> list[Any]:
        if not hasattr(oracle, "_tables"):
            return []
        rows = [t.rows for t in oracle._tables.values()]
        return [a for a, i in oracle._lookup.items() if all(r[i][1] > 0 for r in rows)]


@pytest.mark.parametrize("name", ORACLES.names())
def test_registered_oracle_conforms(name: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    if name not in BUILDERS:
        pytest.fail(f"oracle {name!r} is registered but has no builder in {__file__}; add one so that "
                    f"it is checked by the oracle conformance suite")
    if name == "live":
        pytest.importorskip("torch")
    for label, oracle, kwargs in BUILDERS[name](request, tmp_path):
        held = _HeldOnly.archs(oracle)
        if held:  # official fixture caches: evaluate architectures that have rows
            oracle.archs = lambda held=held: held  # type: ignore[method-assign]
        check_oracle(oracle, label=label, **kwargs)


def test_capabilities_choose_the_checks(tmp_path: Path) -> None:
    plain, curves = _table(tmp_path, curves=False), _table(tmp_path, curves=True)
    assert CONTINUE not in plain.capabilities() and CONTINUE in curves.capabilities()
    assert "continue_exact" not in dict(iter_checks(plain)) and "continue_exact" in dict(iter_checks(curves))


class _BrokenContinue(Oracle):
    """Offers continue but charges the full cost again and draws a new seed: both checks must fail."""

    name = "broken"
    offers = frozenset({"multi-fidelity", "continue"})

    def __init__(self) -> None:
        self.inner = make_oracle("nb201-lite", dataset="cifar10-valid")
        self.space, self.dataset = self.inner.space, "x"
        self.fidelities = (Fidelity(epochs=12), Fidelity(epochs=200))

    def capabilities(self) -> frozenset[str]:
        return frozenset({"multi-fidelity", "continue"})

    def evaluate(self, arch, fidelity, rng, *, start=None, inherit=None):
        fid = self.check_fidelity(fidelity)
        ev = self.inner.evaluate(arch, None, rng)
        scale = fid.epochs / 200
        from nasarena.estimators.base import Evaluation
        return Evaluation(arch, fid, ev.score * scale, ev.cost * scale, handle=arch)

    def final_metric(self, arch):
        return self.inner.final_metric(arch)


def test_the_suite_catches_a_continue_that_is_not_exact() -> None:
    with pytest.raises(AssertionError, match="continue_exact"):
        check_oracle(_BrokenContinue())


def test_the_suite_catches_an_impure_final_metric() -> None:
    class Impure(_BrokenContinue):
        def capabilities(self):
            return frozenset({"multi-fidelity"})

        def final_metric(self, arch):
            self.n = getattr(self, "n", 0) + 1
            return float(self.n)

    with pytest.raises(AssertionError, match="final_metric_pure"):
        check_oracle(Impure())
