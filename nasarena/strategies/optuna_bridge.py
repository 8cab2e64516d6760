"""``optuna:<sampler>``: any Optuna sampler driven through Optuna's ask/tell API.

Each strategy owns an in-memory ``optuna.Study``; ``ask`` calls ``study.ask`` with one
``CategoricalDistribution`` per decision of the space, ``tell`` calls ``study.tell`` with the score
(or, with ``objectives=("score", "params", ...)``, a multi-objective study: score maximised, the
costs minimised), and failed evaluations are told as ``TrialState.FAIL``. The sampler is seeded
from the strategy's generator, so a run is reproducible.

CMA-ES: Optuna 5's ``CmaEsSampler`` does not model ``CategoricalDistribution`` (it hands such
parameters to its independent sampler, i.e. it would be random search). For ``cmaes`` the bridge
therefore searches over the one-hot *encoding* instead: one ``FloatDistribution(0, 1)`` per
encoding column, decoded by taking the arg-max within each decision's block. The other samplers
(TPE, GP, QMC, NSGA-II/III, random) handle categorical parameters natively and get them directly.

Repeats: a sampler may suggest an architecture it has already seen. With ``dedupe`` (default) the
bridge tells the study the earlier result again at once (no oracle call, no cost; a failure, or an
architecture still being evaluated, is told as failed) and asks anew, up to ``max_retries`` times;
the evaluation budget then goes to new architectures. Architectures
that violate the space's constraints are told as failures and re-asked the same way.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution
from optuna.trial import TrialState

from nasarena.errors import unknown
from nasarena.estimators.base import FULL, Evaluation, Fidelity
from nasarena.objectives import objective_vector, parse_objectives
from nasarena.spaces.base import Arch, SearchSpace
from nasarena.strategies.base import Proposal, Strategy

#: short name -> optuna.samplers class name
SAMPLERS: dict[str, str] = {
    "tpe": "TPESampler", "random": "RandomSampler", "cmaes": "CmaEsSampler", "gp": "GPSampler",
    "qmc": "QMCSampler", "nsga2": "NSGAIISampler", "nsga3": "NSGAIIISampler",
}
ENCODED_SAMPLERS = frozenset({"cmaes"})  # samplers that see the one-hot encoding, not categories


def make_sampler(name: str, seed: int, **options: Any) -> optuna.samplers.BaseSampler:
    """Build ``optuna.samplers.<class>`` for a short name, seeded; unknown names list the valid."""
    if name not in SAMPLERS:
        raise unknown("optuna sampler", name, sorted(SAMPLERS), "use e.g. 'optuna:tpe'")
    cls = getattr(optuna.samplers, SAMPLERS[name])
    if name in ("cmaes", "gp", "qmc"):
        options.setdefault("warn_independent_sampling", False)
    if name == "qmc":
        options.setdefault("scramble", True)  # unscrambled Sobol ignores the seed: all runs identical
    return cls(seed=seed, **options)


class OptunaStrategy(Strategy):
    """A nasarena strategy backed by an Optuna sampler (see the module docstring)."""

    name: ClassVar[str] = "optuna"

    def __init__(self, space: SearchSpace, rng: np.random.Generator,
                 fidelities: tuple[Fidelity, ...] = (FULL,), *, sampler: str = "tpe",
                 objectives: str | Sequence[str] | None = None, dedupe: bool = True,
                 max_retries: int = 100, sampler_options: dict[str, Any] | None = None) -> None:
        super().__init__(space, rng, fidelities)
        self.sampler_name = sampler
        self.objectives = parse_objectives(objectives)
        self.dedupe, self.max_retries = dedupe, max_retries
        self.sampler_options = dict(sampler_options or {})
        self.name = f"optuna:{sampler}"  # type: ignore[misc]  # instance name carries the sampler
        optuna.logging.set_verbosity(logging.WARNING)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # experimental-feature warnings of some samplers
            optuna_sampler = make_sampler(sampler, int(rng.integers(2**31 - 1)), **self.sampler_options)
            if len(self.objectives) == 1:
                self.study = optuna.create_study(sampler=optuna_sampler, direction="maximize")
            else:
                self.study = optuna.create_study(
                    sampler=optuna_sampler,
                    directions=["maximize"] + ["minimize"] * (len(self.objectives) - 1))
        self._encoded = sampler in ENCODED_SAMPLERS
        self._distributions = self._make_distributions()
        self._trials: dict[int, optuna.trial.Trial] = {}
        self._results: dict[Arch, list[float] | None] = {}  # arch -> told values (None: failed)
        self._pending: dict[Arch, int] = {}  # arch -> number of outstanding proposals

    def _make_distributions(self) -> dict[str, BaseDistribution]:
        if self._encoded:
            return {f"x{k}": FloatDistribution(0.0, 1.0) for k in range(self.space.encoding_size)}
        return {d.name: CategoricalDistribution(list(range(d.n))) for d in self.space.decisions}

    def _decode(self, params: dict[str, Any]) -> Arch:
        if not self._encoded:
            return tuple(int(params[d.name]) for d in self.space.decisions)
        x = np.asarray([params[f"x{k}"] for k in range(self.space.encoding_size)])
        out, offset = [], 0
        for n in self.space.cardinalities:
            out.append(int(np.argmax(x[offset:offset + n])))
            offset += n
        return tuple(out)

    def ask(self) -> Proposal:
        """``study.ask`` until a new valid architecture comes up (or ``max_retries`` is reached)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for attempt in range(self.max_retries + 1):
                trial = self.study.ask(self._distributions)
                arch = self._decode(trial.params)
                last = attempt == self.max_retries
                if not self.space.is_valid(arch) and not last:
                    self.study.tell(trial, state=TrialState.FAIL)
                    continue
                if self.dedupe and not last and (arch in self._results or arch in self._pending):
                    values = self._results.get(arch)
                    if values is None:  # failed before, or still being evaluated
                        self.study.tell(trial, state=TrialState.FAIL)
                    else:
                        self.study.tell(trial, values if len(values) > 1 else values[0])
                    continue
                break
        if not self.space.is_valid(arch):
            arch = self.space.sample(self.rng)  # the sampler keeps proposing invalid points
        proposal = self.propose(arch)
        self._trials[proposal.id] = trial
        self._pending[arch] = self._pending.get(arch, 0) + 1
        return proposal

    def tell(self, proposal: Proposal, evaluation: Evaluation) -> None:
        """``study.tell`` with the objective values, or ``TrialState.FAIL`` for failures/unknowns."""
        trial = self._trials.pop(proposal.id, None)
        if trial is None:
            return
        left = self._pending.pop(proposal.arch, 1) - 1
        if left > 0:
            self._pending[proposal.arch] = left
        vec = objective_vector(evaluation, self.objectives)
        values = [-float(vec[0]), *map(float, vec[1:])]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if not evaluation.ok or not all(math.isfinite(v) for v in values):
                self.study.tell(trial, state=TrialState.FAIL)
                self._results.setdefault(proposal.arch, None)
                return
            self.study.tell(trial, values if len(values) > 1 else values[0])
        self._results[proposal.arch] = values

    def config(self) -> dict[str, Any]:
        """Hyper-parameters recorded with each run."""
        return {"sampler": self.sampler_name, "objectives": list(self.objectives),
                "dedupe": self.dedupe, "max_retries": self.max_retries,
                "sampler_options": self.sampler_options, "optuna": optuna.__version__}
