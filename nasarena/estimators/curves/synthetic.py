"""Synthetic learning curves for unit tests and examples (never for reported numbers).

No per-epoch curves ship with the project's data (NB201-lite and ../shared/data have none), so unit
tests draw curves from a few of the parametric families with parameters that give realistic shapes
(a start near chance, a saturating rise to a final accuracy between 30 and 95 percent) plus Gaussian
noise. The benchmarks use real curves recorded with live training instead
(``benchmarks/record_live_curves.py``).
"""

from __future__ import annotations

import numpy as np

from nasarena.estimators.curves.families import janoschek, mmf, pow3, weibull


def synthetic_curve(rng: np.random.Generator, epochs: int, noise: float = 0.5,
                    final: float | None = None) -> tuple[np.ndarray, float]:
    """(noisy curve in percent, noise-free value at the last epoch) for ``epochs`` epochs."""
    x = np.arange(1, epochs + 1, dtype=float)
    top = float(rng.uniform(30.0, 95.0)) if final is None else float(final)
    start = float(rng.uniform(8.0, 15.0))
    kind = int(rng.integers(4))
    span = top - start
    if kind == 0:
        clean = weibull(x, top, start, rng.uniform(1.0, 5.0) / epochs, rng.uniform(0.8, 1.6))
    elif kind == 1:
        clean = mmf(x, top, start, rng.uniform(2.0, 6.0) / epochs, rng.uniform(1.0, 2.5))
    elif kind == 2:
        clean = janoschek(x, top, start, rng.uniform(0.2, 0.6), rng.uniform(0.6, 1.0))
    else:
        alpha = rng.uniform(0.5, 1.5)
        clean = pow3(x, top, span, alpha)
    clean = np.asarray(clean, dtype=float)
    return clean + rng.normal(0.0, noise, epochs), float(clean[-1])
