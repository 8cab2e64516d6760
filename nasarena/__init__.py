"""nasarena: a benchmark harness for neural architecture search.

Search spaces, oracles and strategies are found by name::

    from nasarena import make_oracle, make_strategy
    oracle = make_oracle("nb201-lite", dataset="cifar10")
"""

from nasarena.errors import NasarenaError
from nasarena.registry import ORACLES, SPACES, STRATEGIES, make_oracle, make_space, make_strategy

__version__ = "0.1.0"
__all__ = ["NasarenaError", "ORACLES", "SPACES", "STRATEGIES", "make_oracle", "make_space",
           "make_strategy", "__version__"]
