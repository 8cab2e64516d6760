"""``bo``: Bayesian optimisation with a Gaussian process over the space's one-hot encoding.

Surrogate: a GP whose kernel suits categorical architectures, the exponentiated weighted Hamming
distance ``k(x, x') = s2 * exp(-sum_d w_d [x_d != x'_d])`` with one relevance weight per decision
(ARD), computed from ``space.encode`` as one matrix product. Hyper-parameters (weights, signal and
noise variance) maximise the log marginal likelihood with analytic gradients (scipy L-BFGS-B),
refitted every ``refit_every`` observations and warm-started; in between only the Cholesky factor
is updated, which keeps an ask cheap (see ``benchmarks/test_bo_overhead.py``).

Acquisition: expected improvement (default) or UCB over candidates made by mutating the best
observed architectures (all one-decision neighbours, plus two-step mutations) and random samples,
never an architecture already proposed. Asynchronous workers: outstanding proposals enter the GP as
*fantasies* at the posterior mean (kriging believer), which shrinks the variance around them so the
next ask looks elsewhere. Initial design: ``n_init`` random architectures. Failed evaluations are
left out of the fit (and never re-proposed).
"""

from __future__ import annotations

import contextlib
import functools
import math
from typing import Any, ClassVar

import numpy as np
from scipy import linalg, optimize, stats

from nasarena.errors import ConfigError
from nasarena.estimators.base import FULL, Evaluation, Fidelity
from nasarena.spaces.base import Arch, SearchSpace
from nasarena.strategies.base import Proposal, Strategy
from nasarena.strategies.local_search import sample_unseen


@functools.cache
def _blas_controller() -> Any:
    """threadpoolctl's controller of the BLAS libraries loaded now (None without threadpoolctl).

    Cached per process (it only describes the loaded libraries), and kept out of the strategy's
    state so that strategies stay plain data.
    """
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return None
    return ThreadpoolController()


def single_threaded_blas() -> contextlib.AbstractContextManager[Any]:
    """Run a block with BLAS/LAPACK limited to one thread (restored afterwards).

    Why: the GP's matrices are small (a few hundred rows). Multithreaded OpenBLAS gains nothing on
    them and, on a loaded machine (a study's process pool, other jobs), its spinning threads made an
    ask 20-40x slower (median 200 ms instead of 5 ms at 200 observations on 2 busy cores).
    """
    controller = _blas_controller()
    if controller is None:
        return contextlib.nullcontext()
    return controller.limit(limits=1, user_api="blas")


# log-space bounds of the GP hyper-parameters (targets are standardised)
_LOG_W = (math.log(1e-2), math.log(5.0))
_LOG_S2 = (math.log(5e-2), math.log(20.0))
_LOG_NOISE = (math.log(1e-4), math.log(1.0))


class HammingGP:
    """Exact GP regression with the ARD exponentiated-Hamming kernel on one-hot encodings.

    ``blocks`` gives, for every one-hot column, the decision it belongs to, so a per-decision
    weight vector expands to a per-column one and the weighted Hamming distance between two sets of
    encodings is ``sum(w) - (A * w_cols) @ B.T``.
    """

    def __init__(self, blocks: np.ndarray, n_decisions: int) -> None:
        self.blocks = blocks
        self.n_decisions = n_decisions
        self.theta = np.concatenate([np.full(n_decisions, math.log(0.5)), [0.0, math.log(1e-2)]])
        self._x = np.zeros((0, len(blocks)))
        self._alpha = np.zeros(0)
        self._chol: np.ndarray | None = None

    # ---- kernel ------------------------------------------------------------------------------
    def _distance(self, a: np.ndarray, b: np.ndarray, w: np.ndarray) -> np.ndarray:
        return w.sum() - (a * w[self.blocks]) @ b.T

    def kernel(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Cross-covariance between two sets of encodings under the current hyper-parameters."""
        w = np.exp(self.theta[: self.n_decisions])
        return np.exp(self.theta[-2]) * np.exp(-self._distance(a, b, w))

    # ---- fitting -----------------------------------------------------------------------------
    def _nll(self, theta: np.ndarray, mismatch: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        """Negative log marginal likelihood and its gradient in log-parameter space."""
        d = self.n_decisions
        w, s2, noise = np.exp(theta[:d]), math.exp(theta[d]), math.exp(theta[d + 1])
        corr = np.exp(-np.tensordot(w, mismatch, axes=1))
        k = s2 * corr + (noise + 1e-8) * np.eye(len(y))
        try:
            c = linalg.cho_factor(k, lower=True, check_finite=False)
        except linalg.LinAlgError:
            return 1e10, np.zeros_like(theta)
        alpha = linalg.cho_solve(c, y, check_finite=False)
        nll = 0.5 * y @ alpha + np.log(np.diag(c[0])).sum() + 0.5 * len(y) * math.log(2 * math.pi)
        inner = linalg.cho_solve(c, np.eye(len(y)), check_finite=False) - np.outer(alpha, alpha)
        sk = s2 * corr
        grad = np.empty_like(theta)
        grad[:d] = -0.5 * w * np.einsum("ij,dij->d", inner * sk, mismatch)
        grad[d] = 0.5 * np.sum(inner * sk)
        grad[d + 1] = 0.5 * noise * np.trace(inner)
        return float(nll), grad

    def fit_hyperparameters(self, x: np.ndarray, y: np.ndarray, maxiter: int = 50) -> None:
        """Maximise the marginal likelihood from the current ``theta`` (a warm start)."""
        match = np.stack([x[:, self.blocks == j] @ x[:, self.blocks == j].T
                          for j in range(self.n_decisions)])
        mismatch = 1.0 - match
        bounds = [_LOG_W] * self.n_decisions + [_LOG_S2, _LOG_NOISE]
        res = optimize.minimize(self._nll, self.theta, args=(mismatch, y), jac=True,
                                method="L-BFGS-B", bounds=bounds, options={"maxiter": maxiter})
        if np.all(np.isfinite(res.x)):
            self.theta = res.x

    def condition(self, x: np.ndarray, y: np.ndarray) -> None:
        """Condition on data ``(x, y)`` with the current hyper-parameters (one Cholesky)."""
        noise = math.exp(self.theta[-1]) + 1e-8
        k = self.kernel(x, x) + noise * np.eye(len(y))
        self._chol = linalg.cholesky(k, lower=True, check_finite=False)
        self._alpha = linalg.cho_solve((self._chol, True), y, check_finite=False)
        self._x = x

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and standard deviation (of the latent function) at ``x``."""
        ks = self.kernel(x, self._x)
        mean = ks @ self._alpha
        v = linalg.solve_triangular(self._chol, ks.T, lower=True, check_finite=False)
        var = np.maximum(math.exp(self.theta[-2]) - np.sum(v * v, axis=0), 1e-12)
        return mean, np.sqrt(var)


def _all_neighbours(parents: np.ndarray, cards: np.ndarray) -> np.ndarray:
    """Every row that differs from a parent row in exactly one decision (unconstrained)."""
    k = len(parents)
    out = []
    for i, n in enumerate(cards.tolist()):
        if n < 2:
            continue
        block = np.repeat(parents, n, axis=0)
        block[:, i] = np.tile(np.arange(n), k)
        out.append(block[block[:, i] != np.repeat(parents[:, i], n)])
    return np.vstack(out) if out else parents[:0]


def _random_mutations(parents: np.ndarray, cards: np.ndarray, per_parent: int,
                      rng: np.random.Generator, steps: int = 2) -> np.ndarray:
    """``per_parent`` copies of each parent with ``steps`` distinct decisions changed at random."""
    mutable = cards >= 2
    steps = min(steps, int(mutable.sum()))
    rows = np.repeat(parents, per_parent, axis=0)
    if steps == 0 or len(rows) == 0:
        return rows
    keys = rng.random(rows.shape) + np.where(mutable, 0.0, 2.0)  # never pick a 1-choice decision
    cols = np.argsort(keys, axis=1)[:, :steps]
    idx = np.arange(len(rows))
    for c in cols.T:
        rows[idx, c] = (rows[idx, c] + rng.integers(1, cards[c])) % cards[c]
    return rows


class BayesianOptimization(Strategy):
    """GP-based BO over the one-hot encoding (see the module docstring).

    Hyper-parameters: ``n_init`` random architectures first; ``acquisition`` ``"ei"`` or ``"ucb"``
    (``beta`` its exploration weight); the acquisition optimiser scores the neighbours of the
    ``n_top`` best observations, ``n_mutations`` two-step mutations of each, and ``n_random``
    random samples; ``refit_every`` observations between hyper-parameter fits.
    """

    name: ClassVar[str] = "bo"

    def __init__(self, space: SearchSpace, rng: np.random.Generator,
                 fidelities: tuple[Fidelity, ...] = (FULL,), *, n_init: int = 10,
                 acquisition: str = "ei", beta: float = 2.0, n_top: int = 10, n_mutations: int = 10,
                 n_random: int = 100, refit_every: int = 10) -> None:
        super().__init__(space, rng, fidelities)
        if acquisition not in ("ei", "ucb"):
            raise ConfigError(f"unknown acquisition {acquisition!r}; valid are 'ei', 'ucb'")
        if n_init < 2 or refit_every < 1:
            raise ConfigError(f"need n_init >= 2 and refit_every >= 1, got {n_init}, {refit_every}")
        self.n_init, self.acquisition, self.beta = n_init, acquisition, beta
        self.n_top, self.n_mutations, self.n_random = n_top, n_mutations, n_random
        self.refit_every = refit_every
        self._seen: set[Arch] = set()
        self._pending: dict[int, Arch] = {}
        self._archs: list[Arch] = []
        self._x: list[np.ndarray] = []
        self._y: list[float] = []
        blocks = np.repeat(np.arange(len(space.decisions)), space.cardinalities)
        self._gp = HammingGP(blocks, len(space.decisions))
        self._fitted_at = 0
        self._cards = np.asarray(space.cardinalities, dtype=np.int64)
        self._constrained = type(space).is_valid is not SearchSpace.is_valid

    def _candidates(self) -> np.ndarray:
        """Mutations of the best observed architectures plus random samples, all unseen, as rows.

        Vectorised with numpy (a Python loop over ``space.neighbours`` costs ~20 ms per ask):
        every one-decision neighbour of the ``n_top`` best, ``n_mutations`` random two-decision
        mutations of each, and ``n_random`` uniform samples; spaces with constraints are filtered
        through ``space.is_valid``.
        """
        order = np.argsort(-np.asarray(self._y), kind="stable")[: self.n_top]
        parents = np.asarray([self._archs[int(i)] for i in order], dtype=np.int64)
        rows = [_all_neighbours(parents, self._cards),
                _random_mutations(parents, self._cards, self.n_mutations, self.rng),
                self.rng.integers(0, self._cards, size=(self.n_random, len(self._cards)))]
        cands = np.unique(np.vstack(rows), axis=0)
        keep = [tuple(r) not in self._seen and (not self._constrained or self.space.is_valid(tuple(r)))
                for r in cands.tolist()]
        return cands[np.asarray(keep, dtype=bool)]

    def _acquire(self) -> Arch:
        with single_threaded_blas():
            return self._acquire_locked()

    def _acquire_locked(self) -> Arch:
        y = np.asarray(self._y)
        mu, sd = float(y.mean()), float(y.std()) or 1.0
        ys = (y - mu) / sd
        x = np.stack(self._x).astype(np.float64)
        if len(ys) - self._fitted_at >= self.refit_every or self._fitted_at == 0:
            self._gp.fit_hyperparameters(x, ys)
            self._fitted_at = len(ys)
        self._gp.condition(x, ys)
        if self._pending:  # kriging believer: pending points observed at their posterior mean
            xp = self.space.encode_many(list(self._pending.values())).astype(np.float64)
            fantasy, _ = self._gp.predict(xp)
            self._gp.condition(np.vstack([x, xp]), np.concatenate([ys, fantasy]))
        cands = self._candidates()
        if len(cands) == 0:
            return sample_unseen(self.space, self.rng, self._seen)
        mean, std = self._gp.predict(self.space.encode_many(cands).astype(np.float64))
        if self.acquisition == "ucb":
            acq = mean + self.beta * std
        else:
            z = (mean - ys.max()) / std
            acq = std * (z * stats.norm.cdf(z) + stats.norm.pdf(z))
        return tuple(int(v) for v in cands[int(np.argmax(acq))])

    def ask(self) -> Proposal:
        """Random until ``n_init`` successes, then the acquisition maximiser."""
        if len(self._y) < self.n_init:
            arch = sample_unseen(self.space, self.rng, self._seen)
        else:
            arch = self._acquire()
        self._seen.add(arch)
        proposal = self.propose(arch)
        self._pending[proposal.id] = arch
        return proposal

    def tell(self, proposal: Proposal, evaluation: Evaluation) -> None:
        """Add a successful observation to the data set; failures are only forgotten as pending."""
        self._pending.pop(proposal.id, None)
        if not evaluation.ok or not math.isfinite(evaluation.score):
            return
        self._archs.append(proposal.arch)
        self._x.append(self.space.encode(proposal.arch))
        self._y.append(float(evaluation.score))

    def config(self) -> dict[str, Any]:
        """Hyper-parameters recorded with each run."""
        return {"n_init": self.n_init, "acquisition": self.acquisition, "beta": self.beta,
                "n_top": self.n_top, "n_mutations": self.n_mutations, "n_random": self.n_random,
                "refit_every": self.refit_every, "kernel": "ard-exp-hamming"}
