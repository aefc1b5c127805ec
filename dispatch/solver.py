"""The assignment objective and its exact solver (OR-Tools min-cost flow).

Objective (also in the README): choose at most one slot per volunteer, never more volunteers in a
slot than its free places, only pairs that are feasible (the slot lies inside one of the volunteer's
availability windows and within their travel limit), and maximise

    sum over assigned (volunteer, slot) of  BASE_KM + BAND_KM * (5 - priority(seat)) - travel_km

BASE_KM is larger than any allowed travel, so every feasible assignment is worth making; each band of
seat priority is worth BAND_KM of extra travel (priority 1 vs 5: 4 * BAND_KM). Values are integers in
tenths of a km so the flow solver is exact. As a min-cost flow: source -> volunteer (capacity 1),
volunteer -> slot (capacity 1, cost -value), slot -> sink (capacity = free places), plus a zero-cost
source -> sink bypass for volunteers left unassigned. Integral min-cost flow solves this exactly.

To keep the graph small each volunteer keeps only their K best-valued and their K nearest feasible
slots (dispatch.services.candidates); the result is optimal over those arcs.

Parties (docs/parties.md): a sign-up of k people is worth k times its pair's value and takes k places, all in
one slot or none. That is a knapsack per slot, which no min-cost flow can hold (its flows split), so
party_assignment_solve solves the flow with each party as k units (every member a solo: the relaxation, an upper
bound), keeps what it placed whole, and repairs the rest: the parties it split or left out, greedily, into a
slot with room for all of them (moving aside its lowest-valued solos when the party is worth more), then the
solos still out, exactly (a second flow), into what is left. When the relaxation splits no party its
answer is placed as it is and is optimal; otherwise the result is reported against the bound.
"""

from dataclasses import dataclass

import numpy as np
from ortools.graph.python import min_cost_flow

BASE_KM = 200.0
BAND_KM = 20.0
LOWEST_PRIORITY = 5
SCALE = 10  # tenths of a km


def pair_value(*, distance_km, priority, base_km: float = BASE_KM, band_km: float = BAND_KM):
    """Integer value (tenths of km-equivalent) of sending a volunteer this far to a seat of this priority.

    Works on scalars and numpy arrays alike.
    """
    bonus = np.rint(SCALE * (base_km + band_km * (LOWEST_PRIORITY - np.asarray(priority))))
    value = bonus - np.rint(SCALE * np.asarray(distance_km))
    return value.astype(np.int64) if isinstance(value, np.ndarray) else int(value)


@dataclass(frozen=True)
class Solution:
    choice: np.ndarray  # slot index per volunteer, -1 when unassigned
    objective: int


def keep_best_k(*, vol: np.ndarray, slot: np.ndarray, value: np.ndarray, k: int):
    """Keep each volunteer's k highest-valued arcs (ties: lower slot index), ordered by volunteer then value."""
    order, keep = _best_k(vol, slot, value, k)
    return vol[order][keep], slot[order][keep], value[order][keep]


def best_k_mask(*, vol: np.ndarray, slot: np.ndarray, value: np.ndarray, k: int) -> np.ndarray:
    """For each arc, whether keep_best_k keeps it."""
    order, keep = _best_k(vol, slot, value, k)
    mask = np.zeros(len(vol), dtype=bool)
    mask[order[keep]] = True
    return mask


def _best_k(vol, slot, value, k: int) -> tuple[np.ndarray, np.ndarray]:
    order = _order_by_volunteer_value_slot(vol, slot, value)
    vol = np.asarray(vol)[order]
    starts = np.r_[0, np.flatnonzero(np.diff(vol)) + 1]
    rank = np.arange(len(vol)) - np.repeat(starts, np.diff(np.r_[starts, len(vol)]))
    return order, rank < k


def _order_by_volunteer_value_slot(vol: np.ndarray, slot: np.ndarray, value: np.ndarray) -> np.ndarray:
    """np.lexsort((slot, -value, vol)), as one argsort of a combined int64 key when it fits: 20x faster."""
    if len(vol) == 0:
        return np.zeros(0, dtype=np.int64)
    vol, slot, value = (np.asarray(a, dtype=np.int64) for a in (vol, slot, value))
    top, span, slots = int(value.max()), int(value.max()) - int(value.min()) + 1, int(slot.max()) + 1
    if min(vol.min(), slot.min()) < 0 or (int(vol.max()) + 1) * span * slots >= 2**62:
        return np.lexsort((slot, -value, vol))
    return np.argsort((vol * span + (top - value)) * slots + slot, kind="stable")


def assignment_solve(*, n_volunteers: int, capacities, vol, slot, value) -> Solution:
    """Exact maximum-value assignment over the given arcs (volunteer index, slot index, integer value > 0)."""
    vol, slot, value = _positive_arcs(vol, slot, value)
    choice = np.full(n_volunteers, -1, dtype=np.int64)
    taken = arc_flows(np.ones(n_volunteers, dtype=np.int64), capacities, vol, slot, value) > 0
    choice[vol[taken]] = slot[taken]
    return Solution(choice, int(value[taken].sum()))


def _positive_arcs(vol, slot, value):
    vol, slot, value = (np.asarray(a, dtype=np.int64) for a in (vol, slot, value))
    positive = value > 0  # an arc worth nothing or less is never worth taking
    return vol[positive], slot[positive], value[positive]


def arc_flows(sizes: np.ndarray, capacities, vol: np.ndarray, slot: np.ndarray, value: np.ndarray) -> np.ndarray:
    """People sent along each arc by the exact min-cost flow where volunteer v brings sizes[v] units: every party
    member a solo with the party's arcs (the relaxation; bench/assign.py's baseline). Arcs worth > 0 only."""
    capacities = np.asarray(capacities, dtype=np.int64)
    if len(vol) == 0 or capacities.sum() == 0:
        return np.zeros(len(vol), dtype=np.int64)
    # Compact node numbering: only volunteers and slots that appear on an arc.
    used_vol, vol_node = np.unique(vol, return_inverse=True)
    used_slot, slot_node = np.unique(slot, return_inverse=True)
    n, m = len(used_vol), len(used_slot)
    supply = int(sizes[used_vol].sum())
    source, sink = 0, 1
    vol_base, slot_base = 2, 2 + n

    tails = np.concatenate([np.full(n, source), vol_base + vol_node, slot_base + np.arange(m), [source]])
    heads = np.concatenate([vol_base + np.arange(n), slot_base + slot_node, np.full(m, sink), [sink]])
    caps = np.concatenate([sizes[used_vol], sizes[vol], capacities[used_slot], [supply]]).astype(np.int64)
    costs = np.concatenate([np.zeros(n), -value, np.zeros(m), [0]]).astype(np.int64)

    flow = min_cost_flow.SimpleMinCostFlow()
    arcs = flow.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, costs)
    flow.set_node_supply(source, supply)
    flow.set_node_supply(sink, -supply)
    status = flow.solve()
    if status != flow.OPTIMAL:
        raise RuntimeError(f"min-cost flow failed with status {status}")
    return flow.flows(arcs[n:n + len(vol)]).astype(np.int64)


@dataclass(frozen=True)
class PartySolution:
    choice: np.ndarray  # slot index per sign-up (all its party there), -1 when unassigned
    objective: int  # sum over placed sign-ups of party size x the pair's value
    bound: int  # the relaxation's objective (every member a solo): no placement of whole parties does better
    split: int  # parties the relaxation split or placed in part, left to the repair
    repaired: int  # of those, placed whole by the repair

    @property
    def optimal(self) -> bool:
        return self.objective == self.bound


def party_assignment_solve(*, sizes, capacities, vol, slot, value) -> PartySolution:
    """Each sign-up's whole party (sizes[v] people) in one slot or none, never over a slot's capacity; the
    relaxation's placement where it keeps parties whole, repaired where it does not (module docstring)."""
    sizes = np.asarray(sizes, dtype=np.int64)
    capacities = np.asarray(capacities, dtype=np.int64)
    vol, slot, value = _positive_arcs(vol, slot, value)
    choice = np.full(len(sizes), -1, dtype=np.int64)
    flow = arc_flows(sizes, capacities, vol, slot, value)
    bound = int((flow * value).sum())
    whole = flow == sizes[vol]
    choice[vol[whole]] = slot[whole]
    split = (np.bincount(vol, weights=flow, minlength=len(sizes)) > 0) & (choice < 0)
    if not split.any():
        return PartySolution(choice, bound, bound, 0, 0)
    repaired = _parties_repair(choice, sizes, capacities, vol, slot, value, split)
    # Then, exactly: solos still out (never placed, or moved aside for a party) into the places still free.
    room = capacities - np.bincount(choice[choice >= 0], weights=sizes[choice >= 0],
                                    minlength=len(capacities)).astype(np.int64)
    keep = ((choice < 0) & (sizes == 1))[vol] & (room[slot] > 0)
    solos = assignment_solve(n_volunteers=len(sizes), capacities=np.maximum(room, 0), vol=vol[keep],
                             slot=slot[keep], value=value[keep])
    placed = solos.choice >= 0
    choice[placed] = solos.choice[placed]
    objective = int((sizes[vol] * value)[choice[vol] == slot].sum())
    return PartySolution(choice, objective, bound, int(split.sum()), repaired)


def _parties_repair(choice, sizes, capacities, vol, slot, value, split) -> int:
    """Greedy, best arc value first: each party still out into a slot with room for all of it, moving aside the
    slot's lowest-valued solos when the party is worth more than they are (they get another go afterwards).
    Changes `choice`; returns how many of the split parties it placed."""
    chosen_arc = choice[vol] == slot
    room = capacities - np.bincount(slot[chosen_arc], weights=sizes[vol[chosen_arc]],
                                    minlength=len(capacities)).astype(np.int64)
    solo_arcs = np.flatnonzero(chosen_arc & (sizes[vol] == 1))
    solos_at: dict[int, list] = {}  # slot -> [(value, volunteer)] of its solos, lowest value first
    for arc in solo_arcs[np.lexsort((vol[solo_arcs], value[solo_arcs]))].tolist():
        solos_at.setdefault(int(slot[arc]), []).append((int(value[arc]), int(vol[arc])))
    arcs = np.flatnonzero(((choice < 0) & (sizes > 1))[vol])
    repaired = 0
    for arc in arcs[np.lexsort((slot[arcs], -value[arcs]))].tolist():
        v, s, k = int(vol[arc]), int(slot[arc]), int(sizes[vol[arc]])
        if choice[v] >= 0:
            continue
        short = max(0, k - int(room[s]))
        aside = solos_at.get(s, [])[:short]
        if len(aside) < short or sum(worth for worth, _ in aside) >= k * int(value[arc]):
            continue
        for _, solo in aside:
            choice[solo] = -1
        del solos_at.get(s, [])[:short]
        room[s] += short - k
        choice[v] = s
        repaired += bool(split[v])
    return repaired


def assignment_greedy(*, n_volunteers: int, capacities, vol, slot, distance, value, seed: int = 0,
                      sizes=None) -> Solution:
    """Baseline: volunteers in random order each take their nearest feasible slot that still has room (for their
    whole party, when sizes are given)."""
    sizes = np.ones(n_volunteers, dtype=np.int64) if sizes is None else np.asarray(sizes, dtype=np.int64)
    vol = np.asarray(vol)
    order = np.lexsort((np.asarray(distance), vol))
    vol, slot, value = vol[order], np.asarray(slot)[order], np.asarray(value)[order]
    starts = np.r_[0, np.flatnonzero(np.diff(vol)) + 1] if len(vol) else np.array([], dtype=np.int64)
    ends = np.r_[starts[1:], len(vol)] if len(vol) else starts
    first = {int(vol[s]): (int(s), int(e)) for s, e in zip(starts, ends, strict=True)}
    room = np.asarray(capacities, dtype=np.int64).copy()
    choice = np.full(n_volunteers, -1, dtype=np.int64)
    objective = 0
    for v in np.random.default_rng(seed).permutation(n_volunteers):
        span = first.get(int(v))
        if span is None:
            continue
        for i in range(*span):
            s = slot[i]
            if room[s] >= sizes[v]:
                room[s] -= sizes[v]
                choice[v] = s
                objective += int(value[i] * sizes[v])
                break
    return Solution(choice, objective)
