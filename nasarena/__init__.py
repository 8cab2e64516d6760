"""nasarena: a benchmark harness for neural architecture search.

Studies in one call (pandas DataFrames in ``study.runs`` and ``study.trajectories``)::

    import nasarena
    study = nasarena.run_study(["random", "regularized-evolution"], seeds=5, budget_evals=50)
    study = nasarena.load_study("runs/bench")

Search spaces, oracles and strategies are found by name::

    from nasarena import make_oracle, make_strategy
    oracle = make_oracle("nb201-lite", dataset="cifar10")
"""

from typing import Any

from nasarena.errors import NasarenaError
from nasarena.registry import ORACLES, SPACES, STRATEGIES, make_oracle, make_space, make_strategy

__version__ = "0.1.0"
__all__ = ["NasarenaError", "ORACLES", "SPACES", "STRATEGIES", "load_study", "make_oracle", "make_space",
           "make_strategy", "run_study", "__version__"]


def __getattr__(name: str) -> Any:
    """``run_study`` and ``load_study`` load the harness (pandas, pyarrow) only when first used."""
    if name in ("run_study", "load_study"):
        from nasarena import api

        return getattr(api, name)
    raise AttributeError(f"module 'nasarena' has no attribute {name!r}")
