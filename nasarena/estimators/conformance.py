"""Conformance suite for oracles, like :func:`~nasarena.strategies.conformance.check_strategy`.

``check_oracle(oracle)`` runs every check of :func:`iter_checks` that the oracle's declared
capabilities select (as scikit-learn's estimator tags select checks) and raises one
``AssertionError`` listing every failure. The checks never catch an oracle's exceptions to decide
what it supports: ``capabilities()`` says it.

Always: ``capabilities`` (a subset of :data:`~nasarena.estimators.base.CAPABILITIES` and of the
class's ``offers``; ``"multi-fidelity"`` iff more than one fidelity), ``describe`` (a dict with str
keys that ``json.dumps`` accepts, naming the fidelities), ``fidelities`` (distinct
:class:`Fidelity` values, cheapest first: no later one ``<`` an earlier one, and the mean cost over
the sampled architectures does not decrease), ``full_is_top`` (``None`` and ``Fidelity()`` evaluate
as ``fidelities[-1]``), ``evaluations`` (costs are finite and non-negative, ``ok`` results have a
finite score and failed ones NaN, the fidelity asked is the one reported), ``deterministic`` (the
same generator state gives the same result) and ``final_metric_pure`` (the same value before and
after evaluations, and no random draw), ``invalid_architectures`` (a decision out of range or one
too many raises the space's InvalidArchitectureError). With ``"continue"``: ``continue_exact`` (continuing the
cheapest fidelity's evaluation up the ladder gives exactly the score of a straight evaluation from
the same draw, each increment is non-negative, and the increments add up to the straight cost).
With ``"shared"``: ``shared_work`` (``run_shared`` returns ``arch=None`` and a non-negative cost).
With ``"proxy"``: ``proxy_scores`` (``"shared"`` is offered too; a ``"proxy"`` work of synflow, the
default proxy, returns one float per architecture sent in ``extras``, the same for the same draw).
With ``"warm-start"``: ``warm_start`` (``evaluate(inherit=...)`` gives a valid evaluation).

``exact_costs=False`` is for oracles whose cost is measured (live training): costs are then only
checked to be non-negative, not compared between evaluations.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from nasarena.checks import json_record_problem, run_all
from nasarena.errors import InvalidArchitectureError
from nasarena.estimators.base import (
    CAPABILITIES,
    CONTINUE,
    FULL,
    MULTI_FIDELITY,
    PROXY,
    PROXY_WORK,
    SHARED,
    WARM_START,
    Evaluation,
    Fidelity,
    Oracle,
    SharedWork,
    proxy_key,
)


@dataclass
class Subject:
    """The oracle under test, the architectures to use and how strictly costs compare."""

    oracle: Oracle
    archs: list[Any]
    exact_costs: bool
    label: str

    def fail(self, message: str) -> AssertionError:
        return AssertionError(f"oracle {self.label!r}: {message}")


def sample_archs(oracle: Oracle, n: int, seed: int = 0) -> list[Any]:
    """``n`` distinct architectures, preferring ones the oracle evaluates successfully at the top
    fidelity (a partial table has rows for few of the space's members)."""
    listed = getattr(oracle, "archs", None)
    if callable(listed):  # tables list the architectures they hold
        held = list(listed())
        if held:
            rng = np.random.default_rng(seed)
            return [held[int(i)] for i in rng.permutation(len(held))[:n]]
    rng = np.random.default_rng(seed)
    out: list[Any] = []
    for _ in range(50 * n):
        arch = oracle.space.sample(rng)
        if arch not in out:
            out.append(arch)
        if len(out) >= n:
            break
    return out


def _same(a: float, b: float) -> bool:
    return a == b or (a != a and b != b)


def _ev(subject: Subject, arch: Any, fidelity: Fidelity | None, seed: int, **kw: Any) -> Evaluation:
    ev = subject.oracle.evaluate(arch, fidelity, np.random.default_rng(seed), **kw)
    if not isinstance(ev, Evaluation):
        raise subject.fail(f"evaluate returned {type(ev).__name__}, not an Evaluation")
    return ev


# ---- the checks -------------------------------------------------------------------------------
def check_capabilities(subject: Subject) -> None:
    """Declared capabilities are known names, offered by the class, multi-fidelity iff several."""
    o = subject.oracle
    caps = o.capabilities()
    if not isinstance(caps, frozenset) or not caps <= CAPABILITIES:
        raise subject.fail(f"capabilities() must be a frozenset of {sorted(CAPABILITIES)}, got {caps!r}")
    if not caps <= frozenset(o.offers):
        raise subject.fail(f"capabilities {sorted(caps)} exceed the class's offers {sorted(o.offers)}; "
                           f"declare them in offers so that error messages can name this oracle")
    if (MULTI_FIDELITY in caps) != (len(o.fidelities) > 1):
        raise subject.fail(f"'multi-fidelity' must be offered iff there are several fidelities "
                           f"(fidelities {[f.key() for f in o.fidelities]}, capabilities {sorted(caps)})")


def check_describe(subject: Subject) -> None:
    """``describe()`` is a JSON-serialisable dict with str keys naming the fidelities."""
    d = subject.oracle.describe()
    problem = json_record_problem(d, "describe()", "it is stored with every run")
    if problem:
        raise subject.fail(problem)
    if d.get("fidelities") != [f.key() for f in subject.oracle.fidelities]:
        raise subject.fail(f"describe()['fidelities'] = {d.get('fidelities')!r} does not list the fidelities")


def check_fidelities(subject: Subject) -> None:
    """Distinct Fidelity values, cheapest first (by the partial order and by the sampled mean cost)."""
    fids = subject.oracle.fidelities
    if not fids or not all(isinstance(f, Fidelity) for f in fids) or len(set(fids)) != len(fids):
        raise subject.fail(f"fidelities must be a non-empty tuple of distinct Fidelity values, got {fids!r}")
    for i, lo in enumerate(fids):
        for hi in fids[i + 1:]:
            if hi < lo:
                raise subject.fail(f"fidelities are not cheapest first: {hi.key()} comes after {lo.key()} "
                                   f"but is below it")
    if FULL in fids and fids[-1] != FULL:
        raise subject.fail("Fidelity() means the top fidelity: it must be listed last")
    if subject.exact_costs and len(fids) > 1:
        means = []
        for f in fids:
            costs = [_ev(subject, a, f, 7).cost for a in subject.archs]
            means.append(float(np.mean(costs)))
        if any(b < a * (1 - 1e-9) for a, b in zip(means, means[1:], strict=False)):
            per = dict(zip([f.key() for f in fids], means, strict=True))
            raise subject.fail(f"mean cost per fidelity {per} decreases: list fidelities cheapest first")


def check_full_is_top(subject: Subject) -> None:
    """``None`` and ``Fidelity()`` evaluate exactly as the top fidelity."""
    top = subject.oracle.fidelities[-1]
    for arch in subject.archs[:3]:
        ref = _ev(subject, arch, top, 3)
        for f in (None, FULL):
            ev = _ev(subject, arch, f, 3)
            if ev.fidelity != top or not _same(ev.score, ref.score) or \
                    (subject.exact_costs and not _same(ev.cost, ref.cost)):
                raise subject.fail(f"evaluate(fidelity={f!r}) differs from the top fidelity {top.key()}: "
                                   f"Fidelity() and None mean the oracle's top fidelity")


def check_evaluations(subject: Subject) -> None:
    """Non-negative finite costs; ok -> finite score, failed -> NaN; the fidelity is the one asked."""
    for arch in subject.archs:
        for f in subject.oracle.fidelities:
            ev = _ev(subject, arch, f, 11)
            if not (math.isfinite(ev.cost) and ev.cost >= 0):
                raise subject.fail(f"cost {ev.cost!r} of {arch} at {f.key()}: costs are non-negative seconds")
            if ev.ok != math.isfinite(ev.score):
                raise subject.fail(f"{arch} at {f.key()}: ok={ev.ok} with score {ev.score!r}; a failed "
                                   f"evaluation has a NaN score (Evaluation.failed), a successful one a "
                                   f"number")
            if ev.fidelity != f:
                raise subject.fail(f"asked {f.key()}, the evaluation says {ev.fidelity.key()}")


def check_deterministic(subject: Subject) -> None:
    """The same generator state gives the same evaluation."""
    for arch in subject.archs[:3]:
        for f in subject.oracle.fidelities:
            a, b = _ev(subject, arch, f, 5), _ev(subject, arch, f, 5)
            if not _same(a.score, b.score) or (subject.exact_costs and not _same(a.cost, b.cost)):
                raise subject.fail(f"two evaluations of {arch} at {f.key()} from the same generator state "
                                   f"differ ({a.score} vs {b.score}); draw all noise from the rng argument")


def check_invalid_architectures(subject: Subject) -> None:
    """A value that is not an architecture of the space raises the space's InvalidArchitectureError
    (not another architecture's score, not an IndexError): a decision one past its range, and one
    decision too many."""
    decisions = subject.oracle.space.decisions
    bad = [tuple(d.n if i == len(decisions) - 1 else 0 for i, d in enumerate(decisions)),
           (0,) * (len(decisions) + 1)]
    for arch in bad:
        try:
            ev = _ev(subject, arch, None, 0)
        except InvalidArchitectureError:
            continue
        except Exception as exc:  # noqa: BLE001 - the wrong exception is what this check reports
            raise subject.fail(f"evaluate({arch}) raised {type(exc).__name__}: {exc}; validate at the "
                               f"boundary (nasarena.estimators.boundary.validated) to raise the space's "
                               f"InvalidArchitectureError") from None
        raise subject.fail(f"evaluate({arch}) returned {ev.score!r} for a value that is not an "
                           f"architecture of {subject.oracle.space.name!r}; raise InvalidArchitectureError")


def check_final_metric_pure(subject: Subject) -> None:
    """``final_metric`` is a function of the architecture only (same before/after evaluations)."""
    o = subject.oracle
    before = [float(o.final_metric(a)) for a in subject.archs]
    for a in subject.archs:
        _ev(subject, a, None, 1)
    after = [float(o.final_metric(a)) for a in subject.archs]
    if not all(_same(x, y) for x, y in zip(before, after, strict=True)):
        raise subject.fail(f"final_metric changed after evaluations ({before} vs {after}); it must be a "
                           f"pure function of the architecture (the harness reads it any time)")


def check_continue_exact(subject: Subject) -> None:
    """A continued lineage equals straight evaluations of the same draw; increments add up."""
    fids = subject.oracle.fidelities
    continued = 0
    for arch in subject.archs:
        for seed in (0, 1):
            ev = _ev(subject, arch, fids[0], seed)
            if not ev.ok:
                continue
            total = ev.cost
            for f in fids[1:]:
                ev = _ev(subject, arch, f, 99, start=ev.handle)
                straight = _ev(subject, arch, f, seed)
                total += ev.cost
                continued += 1
                if not ev.cost >= 0:
                    raise subject.fail(f"continue of {arch} to {f.key()} charged {ev.cost!r}")
                if not _same(ev.score, straight.score):
                    raise subject.fail(f"continue of {arch} to {f.key()} gave {ev.score}, a straight "
                                       f"evaluation of the same draw {straight.score}; a continue must "
                                       f"equal the uninterrupted evaluation")
                if subject.exact_costs and not math.isclose(total, straight.cost, rel_tol=1e-9, abs_tol=1e-9):
                    raise subject.fail(f"continued increments of {arch} add up to {total}, the straight "
                                       f"evaluation to {f.key()} costs {straight.cost}; charge the increment")
                if not ev.ok:
                    break
    if continued == 0:
        raise subject.fail("offers 'continue' but no sampled architecture evaluated successfully to continue")


def check_shared_work(subject: Subject) -> None:
    """``run_shared`` returns an evaluation of no architecture with a non-negative cost."""
    ev = subject.oracle.run_shared(SharedWork("conformance", 1), np.random.default_rng(0))
    if not isinstance(ev, Evaluation) or ev.arch is not None or not ev.cost >= 0:
        raise subject.fail(f"run_shared must return an Evaluation with arch=None and cost >= 0, got {ev!r}")


def check_proxy_scores(subject: Subject) -> None:
    """A ``"proxy"`` work scores each architecture sent, the same for the same draw."""
    if SHARED not in subject.oracle.capabilities():
        raise subject.fail("offers 'proxy' but not 'shared': proxy scores are shared work")
    archs = subject.archs[:3]
    work = SharedWork(PROXY_WORK, len(archs), {"proxy": "synflow", "archs": [list(a) for a in archs]})
    runs = [subject.oracle.run_shared(work, np.random.default_rng(0)) for _ in range(2)]
    ev = runs[0]
    if not isinstance(ev, Evaluation) or ev.arch is not None or not ev.cost >= 0 or not ev.ok:
        raise subject.fail(f"proxy work must return an ok Evaluation with arch=None and cost >= 0, "
                           f"got {ev!r}")
    scores = [ev.extras.get(proxy_key(i)) for i in range(len(archs))]
    if not all(isinstance(s, float) for s in scores):
        raise subject.fail(f"proxy work must put one float per architecture in extras {proxy_key(0)!r}..., "
                           f"got {ev.extras!r}")
    again = [runs[1].extras.get(proxy_key(i)) for i in range(len(archs))]
    if not all(_same(a, b) for a, b in zip(scores, again, strict=True)):
        raise subject.fail(f"proxy scores differ for the same draw: {scores} and {again}")


def check_warm_start(subject: Subject) -> None:
    """``evaluate(inherit=handle)`` of another architecture gives a valid evaluation."""
    a, b = subject.archs[0], subject.archs[-1]
    parent = _ev(subject, a, subject.oracle.fidelities[0], 0)
    ev = _ev(subject, b, subject.oracle.fidelities[0], 0, inherit=parent.handle)
    if not ev.cost >= 0 or ev.ok != math.isfinite(ev.score):
        raise subject.fail(f"warm start gave {ev!r}")


Check = Callable[[Subject], None]
ALWAYS: tuple[tuple[str, Check], ...] = (
    ("capabilities", check_capabilities), ("describe", check_describe), ("fidelities", check_fidelities),
    ("full_is_top", check_full_is_top), ("evaluations", check_evaluations),
    ("deterministic", check_deterministic), ("final_metric_pure", check_final_metric_pure),
    ("invalid_architectures", check_invalid_architectures),
)
#: Checks that run only when the oracle offers the capability (its declared tags).
BY_CAPABILITY: dict[str, tuple[tuple[str, Check], ...]] = {
    CONTINUE: (("continue_exact", check_continue_exact),),
    SHARED: (("shared_work", check_shared_work),),
    PROXY: (("proxy_scores", check_proxy_scores),),
    WARM_START: (("warm_start", check_warm_start),),
}


def iter_checks(oracle: Oracle) -> Iterator[tuple[str, Check]]:
    """The (name, check) pairs the oracle's capabilities select."""
    yield from ALWAYS
    caps = oracle.capabilities()
    for cap, checks in BY_CAPABILITY.items():
        if cap in caps:
            yield from checks


def check_oracle(oracle: Oracle, *, n_archs: int = 6, exact_costs: bool = True, seed: int = 0,
                 label: str | None = None) -> None:
    """Run every selected check; raise one AssertionError that lists all failures (or return None)."""
    subject = Subject(oracle, sample_archs(oracle, n_archs, seed), exact_costs, label or oracle.name)
    run_all("oracle", subject.label,
            ((name, functools.partial(check, subject)) for name, check in iter_checks(oracle)))


__all__ = ["ALWAYS", "BY_CAPABILITY", "check_oracle", "iter_checks", "sample_archs"]
