"""The min-cost-flow assignment is optimal: checked against brute force on small random instances."""

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch.solver import assignment_greedy, assignment_solve, keep_best_k, pair_value


def brute_force(n: int, capacities: list[int], arcs: list[tuple[int, int, int]]) -> int:
    options = [[None] + [(s, v) for vol, s, v in arcs if vol == i] for i in range(n)]
    best = 0
    for combo in itertools.product(*options):
        used = [0] * len(capacities)
        total = 0
        for choice in combo:
            if choice is not None:
                used[choice[0]] += 1
                total += choice[1]
        if all(u <= c for u, c in zip(used, capacities, strict=True)):
            best = max(best, total)
    return best


@st.composite
def instances(draw):
    n = draw(st.integers(1, 6))
    m = draw(st.integers(1, 4))
    capacities = draw(st.lists(st.integers(0, 3), min_size=m, max_size=m))
    arcs = []
    for v in range(n):
        for s in draw(st.sets(st.integers(0, m - 1), max_size=m)):
            distance = draw(st.floats(0, 100, allow_nan=False))
            priority = draw(st.integers(1, 5))
            arcs.append((v, s, pair_value(distance_km=distance, priority=priority)))
    return n, capacities, arcs


def _solve(n, capacities, arcs):
    vol = [a[0] for a in arcs]
    slot = [a[1] for a in arcs]
    value = [a[2] for a in arcs]
    return assignment_solve(n_volunteers=n, capacities=capacities, vol=vol, slot=slot, value=value)


@settings(max_examples=150, deadline=None)
@given(instances())
def test_min_cost_flow_matches_brute_force_optimum(instance):
    n, capacities, arcs = instance
    solution = _solve(n, capacities, arcs)
    assert solution.objective == brute_force(n, capacities, arcs)
    # and the assignment itself is feasible and worth what it claims
    value_of = {(v, s): val for v, s, val in arcs}
    used = [0] * len(capacities)
    total = 0
    for v, s in enumerate(solution.choice.tolist()):
        if s >= 0:
            assert (v, s) in value_of
            used[s] += 1
            total += value_of[(v, s)]
    assert all(u <= c for u, c in zip(used, capacities, strict=True))
    assert total == solution.objective


@settings(max_examples=60, deadline=None)
@given(instances(), st.integers(0, 2**16))
def test_greedy_baseline_never_beats_the_solver(instance, seed):
    n, capacities, arcs = instance
    distance = [-a[2] for a in arcs]  # any order will do for the baseline
    greedy = assignment_greedy(n_volunteers=n, capacities=capacities, vol=[a[0] for a in arcs],
                               slot=[a[1] for a in arcs], distance=distance, value=[a[2] for a in arcs], seed=seed)
    assert greedy.objective <= _solve(n, capacities, arcs).objective


def test_priority_outweighs_a_little_extra_travel():
    assert pair_value(distance_km=25, priority=1) > pair_value(distance_km=5, priority=3)
    assert pair_value(distance_km=5, priority=3) > pair_value(distance_km=6, priority=3)
    assert pair_value(distance_km=100, priority=5) > 0


def test_keep_best_k_keeps_each_volunteers_highest_values():
    vol = np.array([0, 0, 0, 1, 1])
    slot = np.array([0, 1, 2, 0, 1])
    value = np.array([5, 9, 7, 1, 2])
    kept_vol, kept_slot, _ = keep_best_k(vol=vol, slot=slot, value=value, k=2)
    assert sorted(zip(kept_vol.tolist(), kept_slot.tolist(), strict=True)) == [(0, 1), (0, 2), (1, 0), (1, 1)]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 12), st.integers(0, 9), st.integers(-40_000, 3_000)), max_size=80),
       st.integers(1, 4))
def test_keep_best_k_keeps_what_a_full_lexicographic_sort_keeps(arcs, k):
    vol, slot, value = (np.array([a[i] for a in arcs], dtype=np.int64) for i in range(3))
    order = np.lexsort((slot, -value, vol))  # volunteer, then value high to low, then slot
    rank = {}
    expected = []
    for i in order.tolist():
        rank[vol[i]] = rank.get(vol[i], 0) + 1
        if rank[vol[i]] <= k:
            expected.append((vol[i], slot[i], value[i]))
    kept = keep_best_k(vol=vol, slot=slot, value=value, k=k)
    assert list(zip(*(a.tolist() for a in kept), strict=True)) == expected


def test_no_arcs_means_nobody_assigned():
    solution = assignment_solve(n_volunteers=3, capacities=[2], vol=[], slot=[], value=[])
    assert solution.objective == 0 and solution.choice.tolist() == [-1, -1, -1]
