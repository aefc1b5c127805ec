"""manage.py move_to_boundary_set on a copy of the demo data made on the 2010 set."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from seats.importers import districts_import, postcodes_import
from seats.models import BoundarySet, Seat, boundary_set_current
from sessions.models import CanvassSession, MeetingPoint
from tests.factories import VolunteerFactory
from volunteers.models import Volunteer

pytestmark = pytest.mark.django_db

HALLAM_2010, HALLAM_2024 = "E14000922", "E14001468"
CROYDON_CENTRAL, CROYDON_EAST = "E14000654", "E14001186"
LEEDS_NW_2010 = "E14000780"
S10_MAIN_2024 = "E14001468"  # Sheffield Hallam holds most of S10's postcodes  # split about 50/50: no clear successor


@pytest.fixture
def installation_2010(shared_data):
    """The 2010 demo as a live installation (2010 current, overrides set, a session already held, a volunteer),
    with the 2024 seats (the real 650) and the 2024 postcode sample imported beside it."""
    call_command("load_demo", "--set", "2010")
    Seat.objects.filter(pk=HALLAM_2010).update(priority_override=1)
    Seat.objects.filter(pk=CROYDON_CENTRAL).update(is_target=True)
    Seat.objects.filter(pk=LEEDS_NW_2010).update(priority_override=2)
    held = CanvassSession.objects.filter(seat_id=HALLAM_2010).order_by("starts_at").first()
    yesterday = timezone.now() - timedelta(days=1)
    CanvassSession.objects.filter(pk=held.pk).update(starts_at=yesterday - timedelta(hours=2), ends_at=yesterday)
    VolunteerFactory(phone="+447400900001", name="Val", postcode="S10 5XZ", lat=53.37, lng=-1.52,
                     seat_id=HALLAM_2010)
    # erased: only the district is kept
    VolunteerFactory(phone="+447400900002", name="", postcode="S10", lat=53.37, lng=-1.52,
                     seat_id=HALLAM_2010, anonymised_at=timezone.now())
    call_command("import_seats", "--no-progress", stdout=io.StringIO())
    postcodes_import(path=shared_data / "postcodes" / "postcode_sample_pcon2024.csv", boundary_set="2024")
    districts_import(path=shared_data / "postcodes" / "outcode_centroids_2024set.csv", boundary_set="2024")
    return held


def _state() -> tuple:
    return (boundary_set_current(),
            sorted(MeetingPoint.objects.values_list("pk", "seat_id")),
            sorted(CanvassSession.objects.values_list("pk", "seat_id")),
            sorted(Volunteer.objects.values_list("pk", "seat_id")),
            sorted(Seat.objects.exclude(priority_override=None, is_target=False)
                   .values_list("pk", "priority_override", "is_target", "priority")))


def _move(*args) -> str:
    out = io.StringIO()
    call_command("move_to_boundary_set", "2024", "--no-progress", *args, stdout=out)
    return out.getvalue()


def test_a_dry_run_changes_nothing_then_the_move_moves_the_live_data(installation_2010, client):
    held = installation_2010
    before = _state()
    assert before[0] == "2010"

    report = _move("--dry-run")

    assert _state() == before
    assert "Meeting points would move: 7" in report and "Dry run: nothing was changed." in report
    assert f"{LEEDS_NW_2010} Leeds North West: override 2" in report and "no clear successor" in report

    report = _move()

    assert boundary_set_current() == "2024" and "The 2024 set is now current." in report
    current = set(Seat.objects.current().values_list("pk", flat=True))
    assert len(current) == 650
    # every meeting point, upcoming session and volunteer is in the 2024 set, found from its postcode
    assert set(MeetingPoint.objects.values_list("seat_id", flat=True)) <= current
    upcoming = CanvassSession.objects.filter(ends_at__gt=timezone.now())
    assert upcoming.count() == 20 and set(upcoming.values_list("seat_id", flat=True)) <= current
    assert MeetingPoint.objects.get(postcode="S10 5XZ").seat_id == HALLAM_2024
    assert Volunteer.objects.get(postcode="S10 5XZ").seat_id == HALLAM_2024
    assert Volunteer.objects.get(postcode="S10").seat_id == S10_MAIN_2024  # the district's main seat
    assert "Volunteers moved: 2 (by postcode 1, district 1, successor 0, not found 0)" in report
    # the session already held keeps its old seat: the old seat's coverage history
    assert CanvassSession.objects.get(pk=held.pk).seat_id == HALLAM_2010
    # overrides and targets go to the clear successors; the split seat's override is left for a coordinator
    hallam, croydon = Seat.objects.get(pk=HALLAM_2024), Seat.objects.get(pk=CROYDON_EAST)
    assert (hallam.priority_override, hallam.priority) == (1, 1)
    assert croydon.is_target and croydon.priority == max(1, croydon.computed_priority - 1)
    assert not Seat.objects.in_set("2024").filter(priority_override=2).exists()
    assert "For a coordinator to set by hand (1)" in report
    # and in the coordinators' audit log, once (the dry run left none)
    from dispatch.models import CoordinatorAction

    logged = CoordinatorAction.objects.get(kind=CoordinatorAction.Kind.BOUNDARY_SET_MOVED)
    assert [row["from"] for row in logged.result["to_review"]] == [LEEDS_NW_2010]
    from tests.factories import UserFactory

    client.force_login(UserFactory(is_staff=True))
    page = client.get(f"/coordinate/audit/{logged.pk}/").content.decode()
    assert "Priority overrides and targets to set by hand" in page
    assert f'href="/coordinate/seats/{LEEDS_NW_2010}/">Leeds North West</a>' in page
    client.logout()
    # searches now see the 2024 seats only
    found = client.get("/api/seats/", {"q": "Sheffield Hallam"}).json()["results"]
    assert [seat["ons_code"] for seat in found] == [HALLAM_2024]

    after = _state()
    report = _move()  # idempotent

    assert _state() == after
    assert "Meeting points moved: 0" in report and "Sessions not yet ended moved: 0" in report
    assert "The 2024 set was already current." in report


def test_the_move_refuses_a_set_not_imported_yet():
    call_command("load_demo", "--set", "2010")

    with pytest.raises(CommandError, match="Import the 2024 seats and postcodes first"):
        _move()
    with pytest.raises(CommandError, match="No boundary set 2031"):
        call_command("move_to_boundary_set", "2031", "--no-progress")
    assert BoundarySet.objects.get(is_current=True).code == "2010"
