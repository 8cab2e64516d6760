"""``lemonade``: multi-objective search with Lamarckian inheritance (Elsken, Metzen & Hutter, ICLR 2019).

LEMONADE keeps the Pareto front of accuracy against a *cheap* objective (params or FLOPs, known
without training) and, each generation,

1. samples parents from the front with probability inversely proportional to a kernel density
   estimate of the cheap objective over the front (sparse regions of the front are explored more);
2. makes ``n_generated`` children by network morphisms and approximate morphisms;
3. accepts ``n_accepted`` of them, again with probability inversely proportional to the density of
   their cheap objective under the front's KDE, without training anything;
4. trains the accepted children starting from their parents' weights (Lamarckian inheritance).

Reduced to these spaces: the morphisms are those of :mod:`nasarena.spaces.morphisms` (``kinds``:
exact and approximate by default; a space without a catalogue uses every neighbour, each a
Lamarckian warm start); the cheap objective of an unevaluated child is the space's own analytic
cost model (``model_cost`` at the space's full size, 10 classes, 32px: only its ratios matter, it is
on a log scale), the same for the front's members so that both densities use one scale; on a space
without a cost model (or a front of one cheap value) sampling is uniform. The front itself uses the
evaluations' score and ``objectives`` (default params). The KDE is scipy's ``gaussian_kde``
(Scott's bandwidth). The paper starts from a few trivial networks; here the first ``n_init``
evaluations are random architectures, trained from scratch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
from scipy.stats import gaussian_kde, norm

from nasarena.errors import ConfigError
from nasarena.estimators.base import FULL, WARM_START, Evaluation, Fidelity
from nasarena.objectives import objective_vector, pareto_mask, parse_objectives
from nasarena.spaces.base import Arch, SearchSpace
from nasarena.spaces.morphisms import APPROXIMATE, EXACT, check_kinds, morph_options
from nasarena.strategies.base import Proposal, Strategy, positive_int

CHEAP = ("params", "flops")


def inverse_density(values: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Probabilities proportional to 1 / KDE(values), the KDE fitted on ``reference`` (log scale);
    uniform when the reference has fewer than two distinct values."""
    ref = np.log(np.asarray(reference, float))
    vals = np.log(np.asarray(values, float))
    if len(ref) < 2 or np.ptp(ref) == 0 or not np.all(np.isfinite(ref)) or not np.all(np.isfinite(vals)):
        return np.full(len(vals), 1.0 / len(vals))
    # scipy's KDE gives the bandwidth (Scott's rule); the 1-D sum of Gaussians is evaluated here in
    # numpy, because gaussian_kde.__call__ goes through a BLAS triangular solve that took ~30 ms a
    # call on a loaded 2-core machine (its threads spin), for a handful of points
    bw = float(np.sqrt(gaussian_kde(ref).covariance[0, 0]))
    density = norm.pdf((vals[:, None] - ref[None, :]) / bw).mean(axis=1) / bw
    w = 1.0 / np.maximum(density, 1e-12)
    return w / w.sum()


class Lemonade(Strategy):
    """LEMONADE, reduced to a warm-start oracle and the spaces' morphisms (see the module docstring)."""

    name: ClassVar[str] = "lemonade"
    requires: frozenset[str] = frozenset({WARM_START})

    def __init__(self, space: SearchSpace, rng: np.random.Generator,
                 fidelities: tuple[Fidelity, ...] = (FULL,), n_init: int = 4, n_generated: int = 16,
                 n_accepted: int = 4, cheap: str = "params", kinds: Any = (EXACT, APPROXIMATE),
                 objectives: str | Sequence[str] | None = None) -> None:
        super().__init__(space, rng, fidelities)
        self.n_init = positive_int(self.name, "n_init", n_init)
        self.n_generated = positive_int(self.name, "n_generated", n_generated)
        self.n_accepted = positive_int(self.name, "n_accepted", n_accepted)
        if self.n_accepted > self.n_generated:
            raise ConfigError(f"{self.name}: n_accepted ({n_accepted}) must be <= n_generated "
                              f"({n_generated})")
        if cheap not in CHEAP:
            raise ConfigError(f"{self.name}: cheap must be one of {CHEAP}, got {cheap!r}")
        self.cheap = cheap
        self.kinds = check_kinds(self.name, kinds)
        self.objectives = parse_objectives(objectives if objectives is not None else ("score", cheap))
        self._archive: list[tuple[Arch, int, np.ndarray]] = []   # (arch, proposal id, objective vector)
        self._queue: list[tuple[Arch, int]] = []                 # accepted children: (arch, parent id)
        self._cheap: dict[Arch, float] = {}
        self._options: dict[Arch, list[Arch]] = {}               # morphism children per front member
        self.n_generations = 0

    # ---- the cheap objective -------------------------------------------------------------------
    def cheap_value(self, arch: Arch) -> float:
        """The space's analytic params (or FLOPs) of ``arch`` at its full size; NaN without a model."""
        value = self._cheap.get(arch)
        if value is None:
            value = float("nan")
            if hasattr(self.space, "model_cost") and hasattr(self.space, "size_knobs"):
                from nasarena.spaces.trainable import resolve_size

                cost = self.space.model_cost(arch, 10, 32, resolve_size(self.space, {}))
                value = float(cost[CHEAP.index(self.cheap)])
            self._cheap[arch] = value
        return value

    def front(self) -> list[tuple[Arch, int, np.ndarray]]:
        """The non-dominated members of everything evaluated successfully."""
        if not self._archive:
            return []
        mask = pareto_mask(np.stack([vec for _, _, vec in self._archive]))
        return [m for m, keep in zip(self._archive, mask, strict=True) if keep]

    # ---- ask / tell ----------------------------------------------------------------------------
    def ask(self) -> Proposal:
        """A random architecture until ``n_init`` have been told, then the next accepted child."""
        if len(self._archive) < self.n_init:
            return self.propose(self.space.sample(self.rng))
        if not self._queue:
            self._generation()
        if not self._queue:  # no member of the front has a child: a random architecture
            return self.propose(self.space.sample(self.rng))
        arch, parent = self._queue.pop(0)
        return self.warm_start(arch, parent)

    def _generation(self) -> None:
        """Sample parents by inverse density over the front, make children, accept some by density."""
        front = self.front()
        ref = np.array([self.cheap_value(a) for a, _, _ in front])
        p_parent = inverse_density(ref, ref)
        children: list[tuple[Arch, int]] = []
        for i in self.rng.choice(len(front), size=self.n_generated, p=p_parent):
            arch, pid, _ = front[int(i)]
            options = self._options.get(arch)
            if options is None:
                options = self._options[arch] = morph_options(self.space, arch, self.kinds)
            if options:
                children.append((options[int(self.rng.integers(len(options)))], pid))
        if not children:
            return
        p_child = inverse_density(np.array([self.cheap_value(a) for a, _ in children]), ref)
        take = self.rng.choice(len(children), size=min(self.n_accepted, len(children)), replace=False,
                               p=p_child)
        self._queue = [children[int(i)] for i in take]
        self.n_generations += 1

    def tell(self, proposal: Proposal, evaluation: Evaluation) -> None:
        """Archive a successful result with its objectives (failures and missing costs are ignored)."""
        if not evaluation.ok or evaluation.score != evaluation.score:
            return
        vec = objective_vector(evaluation, self.objectives)
        if np.all(np.isfinite(vec)):
            self._archive.append((proposal.arch, proposal.id, vec))

    def config(self) -> dict[str, Any]:
        """Hyper-parameters and the number of generations, for the run record."""
        return {"n_init": self.n_init, "n_generated": self.n_generated, "n_accepted": self.n_accepted,
                "cheap": self.cheap, "kinds": list(self.kinds), "objectives": list(self.objectives),
                "generations": self.n_generations}


__all__ = ["Lemonade", "inverse_density"]
