"""The demo data set behind `make run`: seven real GE2024 marginals on the 2024 boundaries, the seats
bordering them (with sessions of their own, so overflow has somewhere to go), hosts and sessions.

`demo_load(boundary_set="2010")` loads the earlier demo on the 2010–2024 seats (2017 marginals): an
installation as it was before the boundary change, on which `move_to_boundary_set` is tested."""

import json
from datetime import datetime, time, timedelta
from pathlib import Path

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from seats.models import BoundarySet, Postcode, PostcodeDistrict, Seat, SeatAdjacency
from seats.postcodes import postcode_normalise
from seats.services import seat_effective_priority, seat_priority_compute
from sessions.models import CanvassSession, HostStanding, MeetingPoint
from sessions.services import meeting_point_create, session_create

DEMO_FILES = {"2024": Path(__file__).resolve().parent / "demo" / "demo_geography.json",
              "2010": Path(__file__).resolve().parent / "demo" / "demo_geography_2010.json"}
DEMO_PASSWORD = "frontroom-demo"
SEAT_FIELDS = ["name", "nation", "region", "county", "lat", "lng", "area_km2", "electorate", "winner", "runner_up",
               "result", "valid_votes", "majority", "majority_pct", "election_year", "computed_priority", "priority",
               "boundary_set", "last_boundary_set", "notional_year", "notional_winner", "notional_majority",
               "notional_majority_pct"]
ELECTION_YEAR = {"2024": 2024, "2010": 2017}

# (host username, first name, meeting point name, street address, seat ONS code): a host in each marginal, then
# one in a seat bordering each, whose sessions take the marginal's overflow.
DEMO_HOSTS = [
    ("priya", "Priya", "Priya's front room", "12 Brent Street", "E14001279"),  # Hendon, 15 votes
    ("tom", "Tom", "Tom's kitchen", "4 Ashley Road", "E14001429"),  # Poole, 18
    ("aisha", "Aisha", "Aisha's front room", "27 Corringham Road", "E14001480"),  # South Basildon and East Thurrock, 98
    ("dan", "Dan", "Dan's living room", "9 Lincoln Road", "E14001425"),  # Peterborough, 118
    ("mei", "Mei", "Mei's front room", "31 Lairgate", "E14001087"),  # Beverley and Holderness, 124
    ("sam", "Sam", "Sam's back room", "18 Abergele Road", "W07000095"),  # Clwyd North, 1,196
    ("ruth", "Ruth", "Ruth's conservatory", "5 Perth Road", "S14000075"),  # Dundee Central, 675
    ("omar", "Omar", "Omar's front room", "40 Ballards Lane", "E14001238"),  # Finchley and Golders Green, by Hendon
    ("grace", "Grace", "Grace's dining room", "7 Poole Road", "E14001116"),  # Bournemouth West, by Poole
    ("li", "Li", "Li's front room", "15 London Road", "E14001546"),  # Thurrock, by South Basildon
    ("nia", "Nia", "Nia's kitchen", "2 Oundle Road", "E14001401"),  # North West Cambridgeshire, by Peterborough
    ("ewan", "Ewan", "Ewan's front room", "23 Holderness Road", "E14001313"),  # Hull East, by Beverley
    ("fatima", "Fatima", "Fatima's front room", "6 Conway Road", "W07000083"),  # Bangor Aberconwy, by Clwyd North
    ("joe", "Joe", "Joe's living room", "10 Brook Street", "S14000066"),  # Arbroath and Broughty Ferry, by Dundee
]
# Hendon's first slot has two places: book it three times and the third volunteer waits, then overflows next door.
SMALL_SLOT = ("priya", 2)

DEMO_HOSTS_2010 = [
    ("priya", "Priya", "Priya's front room", "12 Addiscombe Grove", "E14000654"),
    ("tom", "Tom", "Tom's kitchen", "4 Kedleston Road", "E14000662"),
    ("aisha", "Aisha", "Aisha's front room", "27 Psalter Lane", "E14000922"),
    ("dan", "Dan", "Dan's living room", "9 Lavender Hill", "E14000549"),
    ("mei", "Mei", "Mei's front room", "31 Headingley Lane", "E14000780"),
    ("sam", "Sam", "Sam's back room", "18 Queens Park Road", "E14000597"),
    ("ruth", "Ruth", "Ruth's conservatory", "5 St Dunstan's Terrace", "E14000619"),
]


def _load(boundary_set: str) -> dict:
    with DEMO_FILES[boundary_set].open(encoding="utf-8") as handle:
        return json.load(handle)


def _upsert_geography(data: dict, boundary_set: str) -> None:
    seats = []
    for row in data["seats"]:
        row = dict(row)
        majority_pct = 100.0 * row["majority"] / row["valid_votes"]
        computed = seat_priority_compute(majority_pct=majority_pct)
        notional_votes = row.pop("notional_valid_votes", None)
        if notional_votes:
            row.update(notional_year=2019, notional_majority_pct=100.0 * row["notional_majority"] / notional_votes)
        seats.append(Seat(**row, majority_pct=majority_pct, election_year=ELECTION_YEAR[boundary_set],
                          boundary_set_id=boundary_set, last_boundary_set_id=boundary_set, computed_priority=computed,
                          priority=seat_effective_priority(computed=computed, override=None, is_target=False)))
    Seat.objects.bulk_create(seats, update_conflicts=True, unique_fields=["ons_code"], update_fields=SEAT_FIELDS)
    adjacency = []
    for pair in data["adjacency"]:
        adjacency.append(SeatAdjacency(from_seat_id=pair["a"], to_seat_id=pair["b"], kind=pair["kind"], shared_border_km=pair["km"]))
        adjacency.append(SeatAdjacency(from_seat_id=pair["b"], to_seat_id=pair["a"], kind=pair["kind"], shared_border_km=pair["km"]))
    SeatAdjacency.objects.bulk_create(adjacency, update_conflicts=True, unique_fields=["from_seat", "to_seat"],
                                      update_fields=["kind", "shared_border_km"])
    PostcodeDistrict.objects.bulk_create(
        [PostcodeDistrict(boundary_set=boundary_set, outcode=d["outcode"], lat=d["lat"], lng=d["lng"],
                          seat_id=d["seat"], postcode_count=d["n"]) for d in data["districts"]],
        update_conflicts=True, unique_fields=["boundary_set", "outcode"],
        update_fields=["lat", "lng", "seat", "postcode_count"],
    )
    Postcode.objects.bulk_create(
        [Postcode(boundary_set=boundary_set, postcode=postcode_normalise(p["postcode"]), lat=p["lat"], lng=p["lng"],
                  seat_id=p["seat"]) for p in data["postcodes"]],
        update_conflicts=True, unique_fields=["boundary_set", "postcode"], update_fields=["lat", "lng", "seat"],
    )
    # The demo's set is the current one: a fresh machine starts on it.
    BoundarySet.objects.exclude(code=boundary_set).update(is_current=False)
    BoundarySet.objects.filter(code=boundary_set).update(is_current=True)


def _next_weekend(now: datetime) -> list[datetime]:
    local = timezone.localtime(now)
    saturday = local.date() + timedelta(days=(5 - local.weekday()) % 7 or 7)
    return [saturday, saturday + timedelta(days=1), saturday + timedelta(days=7)]


def _slots_for(day, capacity: int, first_capacity: int | None = None) -> list[dict]:
    tz = timezone.get_current_timezone()
    windows = [(time(10, 0), time(12, 0), "Odd numbers, the streets north of the station"),
               (time(13, 0), time(15, 0), "Even numbers, the estate behind the school"),
               (time(17, 30), time(19, 30), "Evening: doors not answered in the morning")]
    return [{"starts_at": timezone.make_aware(datetime.combine(day, start), tz),
             "ends_at": timezone.make_aware(datetime.combine(day, end), tz),
             "capacity": first_capacity if first_capacity and n == 0 else capacity, "turf": turf}
            for n, (start, end, turf) in enumerate(windows)]


DEMO_COORDINATOR_EMAIL = "coordinator@example.org"


@transaction.atomic
def demo_load(*, stdout=None, boundary_set: str = "2024") -> dict:
    """Load the demo geography of a boundary set (and make it current), hosts, a coordinator and next weekend's
    sessions. Idempotent."""
    data = _load(boundary_set)
    _upsert_geography(data, boundary_set)
    User = get_user_model()
    coordinator, created = User.objects.get_or_create(
        username="coordinator", defaults={"is_staff": True, "is_superuser": True, "first_name": "Coordinator",
                                          "email": DEMO_COORDINATOR_EMAIL}
    )
    if created:
        coordinator.set_password(DEMO_PASSWORD)
        coordinator.save()
    elif not coordinator.email and not User.objects.filter(email__iexact=DEMO_COORDINATOR_EMAIL).exists():
        coordinator.email = DEMO_COORDINATOR_EMAIL  # a demo loaded before sign-in by email
        coordinator.save(update_fields=["email"])
    postcodes_by_seat: dict[str, list[str]] = {}
    for row in data["postcodes"]:
        postcodes_by_seat.setdefault(row["seat"], []).append(postcode_normalise(row["postcode"]))
    sessions_created = 0
    now = timezone.now()
    for username, first_name, room, street, seat_code in (DEMO_HOSTS if boundary_set == "2024" else DEMO_HOSTS_2010):
        host, created = User.objects.get_or_create(username=username, defaults={"first_name": first_name,
                                                                                 "email": f"{username}@example.org"})
        if created:
            host.set_password(DEMO_PASSWORD)
            host.save()
        # The demo's hosts have proven their address and are trusted, so their sessions publish at once.
        HostStanding.objects.update_or_create(host=host, defaults={"email_verified": host.email, "trusted": True})
        postcode = postcodes_by_seat[seat_code][0]
        meeting_point = MeetingPoint.objects.filter(host=host, name=room).first() or meeting_point_create(
            host=host, name=room, address=street, postcode=postcode, capacity=12,
            accessibility_notes="Step-free entrance; toilet on the ground floor.", host_first_name=first_name,
        )
        if CanvassSession.objects.filter(meeting_point=meeting_point, ends_at__gt=now).exists():
            continue
        seat = Seat.objects.get(pk=seat_code)
        for day in _next_weekend(now):
            session_create(
                user=host, meeting_point=meeting_point, title=f"{seat.name}: {day:%A} door-knocking",
                description=f"Meet at {first_name}'s for a briefing, then out on the doors. New canvassers welcome.",
                slots=_slots_for(day, capacity=8, first_capacity=SMALL_SLOT[1] if (
                    username == SMALL_SLOT[0] and boundary_set == "2024" and day == _next_weekend(now)[0]) else None),
            )
            sessions_created += 1
    return {"seats": len(data["seats"]), "postcodes": len(data["postcodes"]), "sessions_created": sessions_created}


def demo_sign_in_lines() -> list[str]:
    """Where each demo account signs in and what it reaches there, read from the accounts themselves (a host is
    no staff user, so Django's admin refuses them): the load_demo command prints these."""
    User = get_user_model()
    accounts = {user.username: user for user in User.objects.filter(
        username__in=["coordinator"] + [host[0] for host in DEMO_HOSTS + DEMO_HOSTS_2010])}
    hosts = [user for name, user in accounts.items() if name != "coordinator" and not user.is_staff]
    lines = [f"Every demo account's password is '{DEMO_PASSWORD}'."]
    if hosts:
        example = accounts.get("priya") if "priya" in accounts else hosts[0]
        lines.append(f"Hosts sign in at /host/login/ with their email address (such as {example.email}) and run their "
                     "sessions at /host/ (not /admin/: hosts are not staff).")
    coordinator = accounts.get("coordinator")
    if coordinator is not None and coordinator.is_staff:
        lines.append(f"The coordinator signs in at /host/login/ with {coordinator.email or 'coordinator'} and watches "
                     "coverage at /coordinate/; "
                     + ("Django's admin, /admin/, takes the username 'coordinator'." if coordinator.is_superuser
                        else "it is staff."))
    lines.append("Volunteers need no account: give a postcode at / and book.")
    return lines
