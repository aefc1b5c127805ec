import pytest
from django.core.management import call_command

from seats.models import Postcode, Seat, SeatAdjacency
from sessions.models import CanvassSession, Slot

pytestmark = pytest.mark.django_db


def test_load_demo_is_idempotent_and_gives_searchable_sessions(client):
    call_command("load_demo", stdout=None)
    counts = (Seat.objects.count(), SeatAdjacency.objects.count(), Postcode.objects.count(),
              CanvassSession.objects.count(), Slot.objects.count())
    call_command("load_demo")
    assert (Seat.objects.count(), SeatAdjacency.objects.count(), Postcode.objects.count(),
            CanvassSession.objects.count(), Slot.objects.count()) == counts
    assert Seat.objects.get(pk="E14000922").priority == 1  # Sheffield Hallam, 3.7% majority in 2017
    assert counts[3] == 21 and counts[4] == 63
    # Every stored postcode is canonical, so the README's example searches work.
    assert not Postcode.objects.exclude(postcode__contains=" ").exists()
    results = client.get("/api/sessions/", {"near": "S10 5XZ"}).json()["results"]
    assert results and results[0]["seat"]["ons_code"] == "E14000922"
