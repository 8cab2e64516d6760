"""Early stopping for any strategy: train in increments, stop the trainings a rule gives up on.

:class:`EarlyStopping` wraps a registered strategy (the *inner* one). The inner strategy proposes
full trainings as usual (it is built with the oracle's top fidelity only). The wrapper starts each
at the cheapest epoch fidelity and, after every ``every``-th increment from ``min_epochs`` on, asks a
stopping rule of :mod:`nasarena.estimators.curves` about the curve so far: Domhan et al.'s
``P(final > best so far) < delta`` with their ensemble (``"domhan"``) or LCSVR (``"lcsvr"``), or the
median stopping rule (``"median"``). A training the rule keeps is continued (``Proposal.continues``:
the oracle charges only the increment) to the next fidelity; one that reaches the top is told to
the inner strategy as it is (with the lineage's whole cost) and becomes the rule's "best so far"
and training example; one that is stopped is told according to ``tell``:

* ``"predicted"`` (default for ``domhan`` and ``lcsvr``, as in Domhan et al.): the predictive mean
  of the final value as the score;
* ``"partial"`` (default for ``median``, which predicts nothing): the last observed value;
* ``"stopped"``: a failed evaluation (``ok=False``, "stopped early at epoch ..."), which strategies
  absorb like any failure.

The told evaluation's ``extras`` say what happened (``early_stopped``, ``stopped_at_epochs``,
``p_better``, ``predicted``); :meth:`config` records the rule, its settings, ``tell`` and the
counters (trainings started / stopped / completed, epochs trained versus epochs of full trainings,
decisions and the rule's wall time), so the run record says what was done.

The predictor's wall time is recorded (``decision_seconds``) and by default **not** on the runner's
simulated clock (the clock charges oracle costs, so a trajectory does not depend on the machine);
``charge_overhead=True`` puts it there: :meth:`overhead_seconds` hands the runner the seconds decided
since its last call and the next increment starts that much later (``overhead_charged`` in the
record). ``benchmarks/early_stopping.py`` shows both.

Needs an oracle that offers ``"continue"`` with fidelities that differ in epochs only (official
``nb201`` / ``nats-*`` caches with ``epochs=[1, 2, ...]`` and ``schedule="full"``, ``table`` with
per-epoch rows, ``live``); anything else is refused with a message that says so. The rules read the
per-epoch curve of each evaluation; where an oracle gives none, the scores of consecutive one-epoch
increments are the curve, and otherwise no decision can be made: the training runs to the end and
``increments_without_curve`` in the record counts it.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from nasarena.errors import ConfigError, UnsupportedError, unknown
from nasarena.estimators.base import CONTINUE, FULL, Evaluation, Fidelity
from nasarena.estimators.curves.lcsvr import arch_features
from nasarena.estimators.curves.rules import RULES, make_rule
from nasarena.spaces.base import SearchSpace
from nasarena.strategies.base import Proposal, Strategy

TELLS = ("predicted", "partial", "stopped")


@dataclass
class _Training:
    """One inner proposal being trained in increments."""

    inner: Proposal
    level: int = 0                 # index into the wrapper's epoch fidelities of the last increment
    cost: float = 0.0              # cost of the increments so far
    last: Proposal | None = None   # the outer proposal of the last finished increment
    curve: tuple[float, ...] = ()  # per-epoch values so far (empty when the oracle gives no curve)
    scores: tuple[float, ...] = ()  # the score after each increment


@dataclass
class _Counters:
    started: int = 0
    completed: int = 0
    stopped: int = 0
    failed: int = 0
    epochs_trained: int = 0        # by trainings that ended (completed, stopped or failed)
    decisions: int = 0
    no_curve: int = 0              # increments without a per-epoch curve (no decision possible)
    decision_seconds: float = 0.0
    stopped_at: list[int] = field(default_factory=list)


class EarlyStopping(Strategy):
    """Wrap ``inner`` (a registered strategy name) with a stopping rule (see the module docstring).

    ``rule``: ``"domhan"``, ``"lcsvr"`` or ``"median"``; ``rule_args``: the rule's settings (``delta``
    and the predictor's, e.g. ``mode="fast"``, ``walkers``, ``samples``, ``burn_in``, ``nu``; or the
    median rule's ``min_curves``); ``tell``: what the inner strategy is told about a stopped training
    (``"predicted"``, ``"partial"``, ``"stopped"``; default by rule); ``min_epochs``: no decision
    before this many epochs; ``every``: decide at every ``every``-th increment; ``inner_kwargs``: the
    inner strategy's hyper-parameters; ``charge_overhead``: put the rule's wall time on the simulated
    clock (see the module docstring).
    """

    name: ClassVar[str] = "early-stop"

    def __init__(self, space: SearchSpace, rng: np.random.Generator,
                 fidelities: tuple[Fidelity, ...] = (FULL,), *, inner: str = "random", rule: str = "domhan",
                 tell: str | None = None, min_epochs: int = 3, every: int = 1,
                 inner_kwargs: dict[str, Any] | None = None, charge_overhead: bool = False,
                 **rule_args: Any) -> None:
        super().__init__(space, rng, fidelities)
        if not isinstance(charge_overhead, bool):
            raise ConfigError(f"charge_overhead must be true or false, got {charge_overhead!r}")
        self.charge_overhead = charge_overhead
        self._unreported = 0.0  # decision seconds not yet handed to the runner (overhead_seconds)
        if rule not in RULES:
            raise unknown("early-stopping rule", rule, RULES)
        tell = tell or ("partial" if rule == "median" else "predicted")
        if tell not in TELLS:
            raise unknown("tell policy", tell, TELLS, "(what the wrapped strategy is told about a "
                          "stopped training)")
        if tell == "predicted" and rule == "median":
            raise ConfigError("the median rule predicts no final value; use tell=partial or tell=stopped")
        epochs = [f.epochs for f in self.fidelities]
        rest = {(f.data_fraction, f.size, f.resolution) for f in self.fidelities}
        if len(self.fidelities) < 2 or any(e is None for e in epochs) or epochs != sorted(set(epochs)) \
                or len(rest) > 1:
            got = ", ".join(f.key() for f in self.fidelities)
            raise UnsupportedError(
                f"early stopping trains in epoch increments and needs an oracle with several epoch "
                f"fidelities that differ in epochs only (e.g. nb201 with epochs=[1,2,...,200], a table "
                f"with per-epoch rows, live with fidelities epochs=1;epochs=2;...); this one offers [{got}]")
        self.epochs = [int(e) for e in epochs]  # type: ignore[arg-type]
        self.target = self.epochs[-1]
        self.min_epochs, self.every = int(min_epochs), max(int(every), 1)
        self.rule_name, self.tell_policy = rule, tell
        self.rule = make_rule(rule, **rule_args)
        from nasarena.registry import STRATEGIES

        self.inner_name = inner
        # The inner strategy draws from the run's generator itself, so with the same seed it makes the
        # same first proposals as without early stopping (paired comparisons); the rule gets a child.
        self._rule_rng = rng.spawn(1)[0]
        try:
            factory = STRATEGIES.resolve(inner)
            self.inner = factory(space=space, rng=rng, fidelities=(self.fidelities[-1],),
                                 **dict(inner_kwargs or {}))
        except UnsupportedError as exc:
            raise UnsupportedError(f"early stopping wraps strategies that propose full trainings; {inner!r} "
                                   f"cannot run on the top fidelity alone ({exc})") from None
        self.requires = frozenset({CONTINUE}) | frozenset(getattr(self.inner, "requires", frozenset()))
        self.uses = frozenset(getattr(self.inner, "uses", frozenset()))
        self._by_outer: dict[int, _Training] = {}
        self._ready: list[_Training] = []   # kept trainings waiting for their next increment
        self._best = -math.inf
        self.stats = _Counters()

    def offer(self, capabilities: frozenset[str]) -> None:
        """Pass the oracle's capabilities on to the inner strategy."""
        super().offer(capabilities)
        if hasattr(self.inner, "offer"):
            self.inner.offer(capabilities)

    # ---- ask / tell ----------------------------------------------------------------------------
    def ask(self) -> Proposal:
        """The next increment of a kept training, else the first increment of a new inner proposal."""
        if self._ready:
            t = self._ready.pop(0)
            assert t.last is not None
            t.level += 1
            outer = self.continue_(t.last, self.fidelities[t.level])
        else:
            inner = self.inner.ask()  # SearchExhausted propagates: the run ends normally
            if inner.kind != "fresh":
                raise UnsupportedError(f"early stopping wraps strategies that propose fresh trainings; "
                                       f"{self.inner_name!r} proposed a {inner.kind} evaluation")
            t = _Training(inner)
            self.stats.started += 1
            outer = self.propose(inner.arch, self.fidelities[0])
        self._by_outer[outer.id] = t
        return outer

    def tell(self, proposal: Proposal, evaluation: Evaluation) -> None:
        """Decide about the training: continue it, finish it, or stop it and tell the inner strategy."""
        t = self._by_outer.pop(proposal.id, None)
        if t is None:
            return
        t.cost += float(evaluation.cost)
        epochs = self.epochs[t.level]
        if not evaluation.ok:
            self.stats.failed += 1
            self._tell_inner(t, dataclasses.replace(evaluation, fidelity=t.inner.fidelity, cost=t.cost))
            return
        t.scores += (float(evaluation.score),)
        t.last = proposal
        if evaluation.curve is not None and len(evaluation.curve) == epochs:
            t.curve = tuple(evaluation.curve)
        elif self.epochs[: t.level + 1] == list(range(1, epochs + 1)):
            t.curve = t.scores  # one increment per epoch: the scores are the per-epoch curve
        else:
            t.curve = ()        # no per-epoch curve: nothing to decide on (counted, see config)
            self.stats.no_curve += 1
        features = arch_features(self.space, proposal.arch, evaluation.params, evaluation.flops)
        if epochs >= self.target:
            self.stats.completed += 1
            self._best = max(self._best, float(evaluation.score))
            if t.curve:
                self.rule.observe(t.curve, features)
            self._tell_inner(t, dataclasses.replace(evaluation, fidelity=t.inner.fidelity, cost=t.cost))
            return
        if t.curve and epochs >= self.min_epochs and (t.level + 1) % self.every == 0:
            decision = self.rule.decide(t.curve, self.target, self._best, self._rule_rng, features)
            self.stats.decisions += 1
            self.stats.decision_seconds += decision.seconds
            self._unreported += decision.seconds
            if decision.stop:
                self.stats.stopped += 1
                self.stats.stopped_at.append(epochs)
                self._tell_inner(t, self._stopped(t, evaluation, decision, epochs))
                return
        self._ready.append(t)

    def overhead_seconds(self) -> float:
        """The rule's wall seconds since the last call (charged by the runner with ``charge_overhead``)."""
        seconds, self._unreported = self._unreported, 0.0
        return seconds

    def _stopped(self, t: _Training, ev: Evaluation, decision: Any, epochs: int) -> Evaluation:
        """What the inner strategy is told about a stopped training (``tell`` policy)."""
        extras = {**ev.extras, "early_stopped": 1.0, "stopped_at_epochs": float(epochs),
                  "p_better": decision.p_better, "predicted": decision.predicted}
        policy = self.tell_policy
        if policy == "stopped":
            return Evaluation(t.inner.arch, t.inner.fidelity, math.nan, t.cost, ev.params, ev.flops, ok=False,
                              error=f"stopped early at epoch {epochs} of {self.target} ({self.rule_name})",
                              curve=t.curve, extras=extras)
        score = decision.predicted if policy == "predicted" and decision.predicted == decision.predicted \
            else float(ev.score)
        return Evaluation(t.inner.arch, t.inner.fidelity, score, t.cost, ev.params, ev.flops,
                          curve=t.curve, extras=extras)

    def _tell_inner(self, t: _Training, ev: Evaluation) -> None:
        """The training is over (completed, stopped or failed): count its epochs, tell the inner strategy."""
        self.stats.epochs_trained += self.epochs[t.level]
        self.inner.tell(t.inner, ev)

    def config(self) -> dict[str, Any]:
        """The rule, its settings, the tell policy, the inner strategy and the counters of this run."""
        s = self.stats
        full = (s.completed + s.stopped + s.failed) * self.target
        return {
            "inner": self.inner_name, "inner_config": self.inner.config(), "rule": self.rule.config(),
            "tell": self.tell_policy, "min_epochs": self.min_epochs, "every": self.every,
            "epochs": self.epochs, "overhead_charged": self.charge_overhead,
            "trainings_started": s.started, "trainings_completed": s.completed,
            "trainings_stopped": s.stopped,
            "trainings_failed": s.failed, "epochs_trained": s.epochs_trained,
            "epochs_if_trained_fully": full,
            "fraction_epochs_saved": 1.0 - s.epochs_trained / full if full else None,
            "decisions": s.decisions, "decision_seconds": s.decision_seconds,
            "increments_without_curve": s.no_curve,
            "mean_decision_ms": 1000 * s.decision_seconds / s.decisions if s.decisions else None,
            "stopped_at_epochs": list(s.stopped_at),
        }


Grid = tuple[tuple[str, ...], dict[str, dict[str, Any]]]


def with_early_stopping(strategies: tuple[str, ...], strategy_kwargs: dict[str, dict[str, Any]],
                        rules: str, rule_args: dict[str, Any]) -> Grid:
    """The study grid of ``nasarena run --early-stop RULES``: each strategy ``S`` becomes ``es-R:S``
    for each rule ``R`` of the comma-separated ``RULES`` (``none`` keeps ``S`` itself, for with/without
    comparisons in one study); ``rule_args`` (``--early-stop-arg``) go to every wrapped one and ``S``'s
    own hyper-parameters become its ``inner_kwargs``."""
    wanted = [r.strip() for r in rules.split(",") if r.strip()]
    for r in wanted:
        if r != "none" and r not in RULES:
            raise unknown("early-stopping rule", r, (*RULES, "none"))
    names: list[str] = []
    kwargs: dict[str, dict[str, Any]] = {}
    for s in strategies:
        for r in wanted:
            if r == "none":
                names.append(s)
                if s in strategy_kwargs:
                    kwargs[s] = dict(strategy_kwargs[s])
                continue
            name = f"es-{r}:{s}"
            names.append(name)
            kw = dict(rule_args)
            if strategy_kwargs.get(s):
                kw["inner_kwargs"] = dict(strategy_kwargs[s])
            kwargs[name] = kw
    return tuple(names), kwargs


def _family(rule: str) -> Any:
    def make(inner: str, **kwargs: Any) -> EarlyStopping:
        return EarlyStopping(inner=inner, rule=rule, **kwargs)

    make.__name__ = make.__qualname__ = f"with_{rule}"
    make.__doc__ = f"``es-{rule}:<strategy>``: the strategy with the {rule} stopping rule."
    return make


with_domhan, with_lcsvr, with_median = (_family(r) for r in RULES)

__all__ = ["TELLS", "EarlyStopping", "with_domhan", "with_early_stopping", "with_lcsvr", "with_median"]
