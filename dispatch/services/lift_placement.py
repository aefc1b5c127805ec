"""Cars in an assignment run (issue 24): after the run's optimal placement of everyone who travels on their own,
riders who need a lift and were left out are put into the cars of drivers the run placed, in the driver's slot.

A rider may ride with a driver when the driver's home is within LIFT_PICKUP_KM of theirs and within their own
travel limit (the part of the trip they make themselves), the driver's slot fits their time (window, other places,
one run place a day), and the car and the slot have room. Among those, the placement is again an exact maximum of
the run's objective (dispatch.solver), with the pickup distance as the rider's travel:

    source -> rider (1) -> car (1 per allowed pair, value of the pair) -> the car's slot (its seats) -> sink
    (the slot's places left after the first stage)

So the whole run is optimal in two stages, not jointly: the first stage does not yet weigh where a car could take
riders (docs/travel.md says so beside the README's statement).

Parties (docs/parties.md) count in seats and places: a driver's own party rides in their car, so `car_seats` (seats
for other volunteers) less the party's others is what riders get; a rider's party takes a seat each, all in one car,
and as many of the slot's places. Riders alone are placed by the exact flow above; rider parties then, greedily
(best value first), into the seats and places still free: all of a party in one car or none, so no flow can."""

from dataclasses import dataclass

import numpy as np
from django.conf import settings
from ortools.graph.python import min_cost_flow

from dispatch.services.candidates import Problem, spatial_pairs
from dispatch.solver import pair_value


@dataclass(frozen=True)
class Rides:
    rider: np.ndarray  # volunteer index
    driver: np.ndarray  # volunteer index of the car
    slot: np.ndarray  # slot index (the driver's)
    distance: np.ndarray  # the rider's km to the car
    value: np.ndarray


EMPTY = Rides(*(np.zeros(0, dtype=np.int64) for _ in range(3)), np.zeros(0), np.zeros(0, dtype=np.int64))


def rides_place(problem: Problem, choice: np.ndarray) -> Rides:
    """Riders left out by `choice` (slot index per volunteer, -1 none) placed into the cars `choice` sends."""
    pickup_km = settings.LIFT_PICKUP_KM
    party = problem.v_party if len(problem.v_party) else np.ones(len(choice), dtype=np.int64)
    seats = np.maximum(problem.v_driver_seats - (party - 1), 0)  # the driver's own party sits in their car
    riders = np.flatnonzero(problem.v_needs_lift & (choice < 0))
    drivers = np.flatnonzero((seats > 0) & (choice >= 0))
    if len(riders) == 0 or len(drivers) == 0:
        return EMPTY
    # Pairs within reach through the run's own grid search (a full riders x drivers matrix is 10^8 cells at scale).
    r_at, d_at, dist = spatial_pairs(problem.v_lat[riders], problem.v_lng[riders],
                                     np.minimum(problem.v_limit[riders], pickup_km), problem.v_lat[drivers],
                                     problem.v_lng[drivers])
    rider, driver = riders[r_at], drivers[d_at]
    slot = choice[driver]
    fits = problem.feasible.ok(rider, slot)
    rider, driver, slot, dist = rider[fits], driver[fits], slot[fits], dist[fits]
    room = problem.slot_free.copy()
    np.subtract.at(room, choice[choice >= 0], party[choice >= 0])
    value = pair_value(distance_km=dist, priority=problem.slot_priority[slot])
    keep = (value > 0) & (room[slot] >= party[rider]) & (seats[driver] >= party[rider])
    rider, driver, slot, dist, value = rider[keep], driver[keep], slot[keep], dist[keep], value[keep]
    if len(rider) == 0:
        return EMPTY
    alone = party[rider] == 1
    taken = np.zeros(len(rider), dtype=bool)
    taken[alone] = _solve(rider[alone], driver[alone], slot[alone], value[alone], seats=seats, room=room)
    seats_left = seats.copy()
    np.subtract.at(seats_left, driver[taken], 1)
    np.subtract.at(room, slot[taken], 1)
    _parties_place(rider, driver, slot, value, party=party, seats=seats_left, room=room, taken=taken)
    sizes = party[rider[taken]]
    return Rides(rider[taken], driver[taken], slot[taken], dist[taken], value[taken] * sizes)


def _parties_place(rider, driver, slot, value, *, party, seats, room, taken) -> None:
    """Rider parties, best pair value first, each whole into a car and slot with a seat and a place for each of them
    (marks `taken`, spends `seats` and `room`)."""
    placed = set()
    for pair in np.flatnonzero(party[rider] > 1)[np.argsort(-value[party[rider] > 1], kind="stable")].tolist():
        r, d, s, k = int(rider[pair]), int(driver[pair]), int(slot[pair]), int(party[rider[pair]])
        if r not in placed and seats[d] >= k and room[s] >= k:
            placed.add(r)
            seats[d] -= k
            room[s] -= k
            taken[pair] = True


def _solve(rider, driver, slot, value, *, seats, room) -> np.ndarray:
    if len(rider) == 0:
        return np.zeros(0, dtype=bool)
    used_riders, rider_node = np.unique(rider, return_inverse=True)
    used_cars, car_node = np.unique(driver, return_inverse=True)
    car_slot = {int(d): int(s) for d, s in zip(driver, slot, strict=True)}
    used_slots, slot_node = np.unique([car_slot[int(d)] for d in used_cars], return_inverse=True)
    n_r, n_c, n_s = len(used_riders), len(used_cars), len(used_slots)
    source, sink, r_base = 0, 1, 2
    c_base, s_base = r_base + n_r, r_base + n_r + n_c
    tails = np.concatenate([np.full(n_r, source), r_base + rider_node, c_base + np.arange(n_c),
                            s_base + np.arange(n_s), [source]])
    heads = np.concatenate([r_base + np.arange(n_r), c_base + car_node, s_base + slot_node, np.full(n_s, sink),
                            [sink]])
    caps = np.concatenate([np.ones(n_r), np.ones(len(rider)), seats[used_cars], room[used_slots], [n_r]])
    costs = np.concatenate([np.zeros(n_r), -value, np.zeros(n_c), np.zeros(n_s), [0]])
    flow = min_cost_flow.SimpleMinCostFlow()
    arcs = flow.add_arcs_with_capacity_and_unit_cost(tails.astype(np.int64), heads.astype(np.int64),
                                                     caps.astype(np.int64), costs.astype(np.int64))
    flow.set_node_supply(source, n_r)
    flow.set_node_supply(sink, -n_r)
    if flow.solve() != flow.OPTIMAL:
        raise RuntimeError("min-cost flow failed placing riders")
    return flow.flows(arcs[n_r:n_r + len(rider)]) > 0
