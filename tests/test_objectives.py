"""The 2-D Pareto sweep agrees with the pairwise definition (ties, duplicates and NaN rows included)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from nasarena.objectives import non_dominated_ranks, pareto_mask

values = st.one_of(st.integers(0, 4).map(float), st.just(float("nan")))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(values, values), max_size=30))
def test_two_objective_sweep_matches_pairwise_definition(rows):
    pts = np.array(rows, dtype=float).reshape(len(rows), 2)
    assert (pareto_mask(pts) == (non_dominated_ranks(pts) == 0)).all()


def test_three_objectives_use_the_general_rule():
    pts = np.array([[0, 0, 1], [0, 0, 0], [1, 1, 1], [0, 1, 0]], dtype=float)
    assert pareto_mask(pts).tolist() == [False, True, False, False]
