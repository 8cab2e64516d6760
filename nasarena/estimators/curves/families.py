"""The 11 parametric learning-curve families of Domhan, Springenberg & Hutter (IJCAI 2015).

Each family is a function ``f(x, *params)`` of the epoch ``x >= 1`` (a float array) that gives the
metric scaled to [0, 1]. The functions broadcast: with ``x`` of shape ``(1, T)`` and each parameter of
shape ``(W, 1)`` they return ``(W, T)``, which is how the MCMC ensemble evaluates all its walkers in
one call. Starting points are the published defaults of the paper's reference implementation
(rounded); bounds keep the functions defined (positive rates and exponents) and are what the
priors treat as the support of each family's parameters.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Array = np.ndarray


def vap(x: Array, a: Array, b: Array, c: Array) -> Array:
    """Vapour pressure: ``exp(a + b / x + c log x)``."""
    return np.exp(a + b / x + c * np.log(x))


def ilog2(x: Array, c: Array, a: Array) -> Array:
    """Inverse log: ``c - a / log(x + 1)``."""
    return c - a / np.log(x + 1.0)


def weibull(x: Array, alpha: Array, beta: Array, kappa: Array, delta: Array) -> Array:
    """Weibull: ``alpha - (alpha - beta) exp(-(kappa x)^delta)``."""
    return alpha - (alpha - beta) * np.exp(-((kappa * x) ** delta))


def pow3(x: Array, c: Array, a: Array, alpha: Array) -> Array:
    """Power law: ``c - a x^-alpha``."""
    return c - a * x ** (-alpha)


def pow4(x: Array, c: Array, a: Array, b: Array, alpha: Array) -> Array:
    """Shifted power law: ``c - (a x + b)^-alpha``."""
    return c - (a * x + b) ** (-alpha)


def loglog_linear(x: Array, a: Array, b: Array) -> Array:
    """Log-log linear: ``log(a log x + b)``."""
    return np.log(a * np.log(x) + b)


def mmf(x: Array, alpha: Array, beta: Array, kappa: Array, delta: Array) -> Array:
    """Morgan-Mercer-Flodin: ``alpha - (alpha - beta) / (1 + (kappa x)^delta)``."""
    return alpha - (alpha - beta) / (1.0 + (kappa * x) ** delta)


def janoschek(x: Array, a: Array, beta: Array, k: Array, delta: Array) -> Array:
    """Janoschek: ``a - (a - beta) exp(-k x^delta)``."""
    return a - (a - beta) * np.exp(-k * x ** delta)


def dr_hill_zero_background(x: Array, theta: Array, eta: Array, kappa: Array) -> Array:
    """Hill with zero background: ``theta x^eta / (kappa^eta + x^eta)``."""
    return theta * x ** eta / (kappa ** eta + x ** eta)


def log_power(x: Array, a: Array, b: Array, c: Array) -> Array:
    """Logistic power: ``a / (1 + (x / e^b)^c)``."""
    return a / (1.0 + (x / np.exp(b)) ** c)


def exp4(x: Array, c: Array, a: Array, b: Array, alpha: Array) -> Array:
    """Exponential: ``c - exp(-a x^alpha + b)``."""
    return c - np.exp(-a * x ** alpha + b)


@dataclass(frozen=True)
class Family:
    """One curve family: its function, a starting point and box bounds for the parameters."""

    name: str
    fn: Callable[..., Array]
    start: tuple[float, ...]
    lower: tuple[float, ...]
    upper: tuple[float, ...]

    @property
    def n_params(self) -> int:
        """Number of parameters."""
        return len(self.start)

    def __call__(self, x: Array, params: Array) -> Array:
        """``fn(x, *params)`` with floating-point warnings silenced (NaN/inf are judged by the caller)."""
        with np.errstate(all="ignore"):
            return self.fn(x, *params)


_INF = np.inf
FAMILIES: tuple[Family, ...] = (
    Family("vap", vap, (-0.622, -0.470, 0.042), (-_INF,) * 3, (_INF,) * 3),
    Family("ilog2", ilog2, (0.78, 0.43), (-_INF,) * 2, (_INF,) * 2),
    Family("weibull", weibull, (0.7, 0.1, 0.01, 1.0), (-_INF, -_INF, 1e-8, 1e-8), (_INF,) * 4),
    Family("pow3", pow3, (0.84, 0.52, 0.01), (-_INF, -_INF, 1e-8), (_INF,) * 3),
    Family("pow4", pow4, (0.89, 12.1, -0.12, 0.1), (-_INF, 1e-8, -_INF, 1e-8), (_INF,) * 4),
    Family("loglog_linear", loglog_linear, (1.0, 1.0), (-_INF, 1e-8), (_INF,) * 2),
    Family("mmf", mmf, (0.7, 0.1, 0.01, 5.0), (-_INF, -_INF, 1e-8, 1e-8), (_INF,) * 4),
    Family("janoschek", janoschek, (0.73, 0.07, 0.355, 0.46), (-_INF, -_INF, 1e-8, 1e-8), (_INF,) * 4),
    Family("dr_hill_zero_background", dr_hill_zero_background, (0.772, 0.586, 2.46),
           (-_INF, 1e-8, 1e-8), (_INF,) * 3),
    Family("log_power", log_power, (0.77, 2.98, -0.51), (-_INF,) * 3, (_INF,) * 3),
    Family("exp4", exp4, (0.7, 0.8, -0.8, 0.3), (-_INF, 1e-8, -_INF, 1e-8), (_INF,) * 4),
)
FAMILY_NAMES: tuple[str, ...] = tuple(f.name for f in FAMILIES)


def families(names: tuple[str, ...] | None = None) -> tuple[Family, ...]:
    """The families called ``names`` (all 11 when None), in the canonical order."""
    if names is None:
        return FAMILIES
    from nasarena.errors import unknown

    by_name = {f.name: f for f in FAMILIES}
    out = []
    for n in names:
        if n not in by_name:
            raise unknown("curve family", n, FAMILY_NAMES)
        out.append(by_name[n])
    return tuple(out)
