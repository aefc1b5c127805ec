import pytest
from django.core.management import call_command

from seats.models import Postcode, Seat, SeatAdjacency, boundary_set_current
from sessions.models import CanvassSession, Slot

pytestmark = [pytest.mark.django_db, pytest.mark.slow]  # the whole demo data set, loaded by the command

# The seven GE2024 marginals of the demo: Hendon, Poole, South Basildon and East Thurrock, Peterborough,
# Beverley and Holderness, Clwyd North, Dundee Central.
MARGINALS = {"E14001279", "E14001429", "E14001480", "E14001425", "E14001087", "W07000095", "S14000075"}


def test_load_demo_is_idempotent_and_gives_searchable_sessions(client):
    call_command("load_demo", stdout=None)
    counts = (Seat.objects.count(), SeatAdjacency.objects.count(), Postcode.objects.count(),
              CanvassSession.objects.count(), Slot.objects.count())
    call_command("load_demo")
    assert (Seat.objects.count(), SeatAdjacency.objects.count(), Postcode.objects.count(),
            CanvassSession.objects.count(), Slot.objects.count()) == counts
    assert boundary_set_current() == "2024" and Seat.objects.current().count() == counts[0] == 34
    assert set(Seat.objects.filter(priority=1).values_list("pk", flat=True)) >= MARGINALS
    hendon = Seat.objects.get(pk="E14001279")  # 15 votes in 2024; notionally a Conservative seat in 2019
    assert (hendon.majority, hendon.notional_winner, hendon.notional_year) == (15, "Con", 2019)
    # 14 hosts (a marginal each, and a seat bordering each) x 3 days x 3 slots
    assert counts[3] == 42 and counts[4] == 126
    # Every marginal has a neighbouring seat with sessions of its own, where its overflow goes.
    with_sessions = set(CanvassSession.objects.values_list("seat_id", flat=True))
    for code in MARGINALS:
        assert SeatAdjacency.objects.filter(from_seat_id=code, to_seat_id__in=with_sessions - MARGINALS).exists(), code
    # Hendon's first slot has two places, to watch the third booking wait and overflow.
    assert Slot.objects.filter(session__seat_id="E14001279", capacity=2).count() == 1
    # Every stored postcode is canonical, so the README's example searches work.
    assert not Postcode.objects.exclude(postcode__contains=" ").exists()
    results = client.get("/api/sessions/", {"near": "NW9 5JB"}).json()["results"]
    assert results and results[0]["seat"]["ons_code"] == "E14001279"


def test_the_2010_demo_is_an_installation_before_the_boundary_change():
    call_command("load_demo", "--set", "2010")

    assert boundary_set_current() == "2010" and Seat.objects.current().count() == Seat.objects.count() == 45
    assert CanvassSession.objects.count() == 21
    assert set(Postcode.objects.values_list("boundary_set", flat=True)) == {"2010"}


def test_the_demo_hosts_and_coordinator_sign_in_with_the_email_the_command_names(client):
    from io import StringIO

    out = StringIO()
    call_command("load_demo", stdout=out)
    said = out.getvalue()
    assert "/host/login/" in said and "priya@example.org" in said and "coordinator@example.org" in said
    for email in ("priya@example.org", "coordinator@example.org"):
        fresh = type(client)()
        response = fresh.post("/host/login/", {"username": email, "password": "frontroom-demo"})
        assert response.status_code == 302, email
