"""Learning-curve extrapolation (survey section 4.2): predictors of a training's final value from
the first part of its curve, and stopping rules built on them.

* :mod:`.families`: Domhan et al.'s 11 parametric curve families.
* :mod:`.domhan`: their MCMC-weighted ensemble (``emcee``) and a fast least-squares/Laplace mode.
* :mod:`.lcsvr`: Baker et al.'s nu-SVR on curve and architecture features.
* :mod:`.rules`: Domhan's ``P(final > best) < delta`` rule over any predictor, and the median rule.
* :mod:`.predictive`: the predictive distribution every predictor returns.
* :mod:`.synthetic`: synthetic curves for unit tests.

:mod:`nasarena.strategies.early_stop` wraps any strategy so that it stops trainings with a rule.
"""

from nasarena.estimators.curves.predictive import Predictive
from nasarena.estimators.curves.rules import (
    RULES,
    Decision,
    MedianStoppingRule,
    ProbabilityRule,
    make_rule,
)

__all__ = ["RULES", "Decision", "MedianStoppingRule", "Predictive", "ProbabilityRule", "make_rule"]
