"""Hypervolume and Pareto fronts against hand-computed values and a brute-force check."""

import itertools
import random

import pytest

import qfront


def test_hypervolume_of_a_staircase():
    # Boxes above (0, 0): [0,1]×[0,3] ∪ [0,2]×[0,2] ∪ [0,3]×[0,1] = 3 + 2 + 1 = 6.
    assert qfront.hypervolume([[1, 3], [2, 2], [3, 1]], [0, 0]) == pytest.approx(6.0)
    # A dominated point adds nothing; a point below the reference adds nothing.
    assert qfront.hypervolume([[1, 3], [2, 2], [3, 1], [1, 1], [-1, 5]], [0, 0]) == pytest.approx(6.0)


def test_hypervolume_3d_matches_a_grid_count():
    rng = random.Random(3)
    points = [[rng.randint(1, 6) for _ in range(3)] for _ in range(7)]
    # Unit cells [i, i+1]×[j, j+1]×[k, k+1] dominated by some point, counted one by one.
    count = sum(
        1
        for cell in itertools.product(range(6), repeat=3)
        if any(all(c + 1 <= p for c, p in zip(cell, point)) for point in points)
    )
    assert qfront.hypervolume(points, [0, 0, 0]) == pytest.approx(count)


def test_pareto_front_keeps_the_non_dominated_rows_in_order():
    points = [[1, 1], [3, 1], [1, 3], [2, 2], [0, 4], [2, 1]]
    assert qfront.pareto_front(points) == [[3, 1], [1, 3], [2, 2], [0, 4]]


def test_bad_points_raise_with_the_reason():
    with pytest.raises(qfront.QfrontError, match="values"):
        qfront.pareto_front([[1, 2], [1]])
    with pytest.raises(ValueError):
        qfront.hypervolume([[1, 2]], [0, 0, 0])
    with pytest.raises(qfront.QfrontError, match="NaN"):
        qfront.pareto_front([[1, float("nan")]])
