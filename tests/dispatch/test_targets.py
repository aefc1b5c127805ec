"""The campaign's target list: CSV import (page and command), all-or-nothing, audited, explained."""

import io

import pytest
from django.core.management import CommandError, call_command

from core.errors import InvalidInput, PermissionDenied
from dispatch.models import CoordinatorAction
from dispatch.services.seats import seat_priority_change, target_list_import
from seats.models import Seat
from seats.scopes import seat_scope_for
from tests.dispatch import factories as f
from tests.factories import OrganiserScopeFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def seats():
    a = f.seat("E14000921", lat=53.37, lng=-1.55, priority=1, name="Sheffield Hallam")
    Seat.objects.filter(pk=a.pk).update(majority=2353, majority_pct=4.2, election_year=2024, computed_priority=1)
    b = f.seat("E14000654", lat=51.37, lng=-0.09, priority=4, name="Croydon Central")
    c = f.seat("E14000655", lat=51.40, lng=-0.10, priority=5, name="Croydon North")
    return a, b, c


def csv_bytes(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def test_a_good_file_sets_list_priorities_targets_and_notes_and_is_audited(seats):
    _, b, c = seats
    coordinator = f.user("national")
    result = target_list_import(actor=coordinator, filename="targets.csv", data=csv_bytes(
        "ons_code,priority,target,note", "e14000654,1,true,Held by 422 votes", "E14000655,2,,"))
    assert (result.listed, result.cleared, len(result.changes)) == (2, 0, 2)
    b.refresh_from_db()
    c.refresh_from_db()
    assert (b.target_list_priority, b.priority, b.is_target, b.target_note) == (1, 1, True, "Held by 422 votes")
    assert (c.target_list_priority, c.priority, c.is_target) == (2, 2, False)
    action = CoordinatorAction.objects.get(kind=CoordinatorAction.Kind.TARGET_LIST_IMPORTED)
    assert action.actor == coordinator and action.params == {"file": "targets.csv", "rows": 2}
    assert {change["seat"]: (change["before"], change["after"]) for change in action.result["changes"]} == {
        "E14000654": (4, 1), "E14000655": (5, 2)}


def test_the_file_is_the_whole_list_and_an_override_still_wins(seats):
    _, b, c = seats
    target_list_import(actor=None, data=csv_bytes("ons_code,priority", "E14000654,1", "E14000655,2"))
    seat_priority_change(actor=None, ons_code=c.pk, priority_override=5)
    result = target_list_import(actor=None, data=csv_bytes("priority,ons_code", "2,E14000655"))
    b.refresh_from_db()
    c.refresh_from_db()
    assert result.cleared == 1 and b.target_list_priority is None and b.priority == 4  # back to its result
    assert c.target_list_priority == 2 and c.priority == 5  # the coordinator's override wins over the list
    # the same file again changes no priority
    assert target_list_import(actor=None, data=csv_bytes("priority,ons_code", "2,E14000655")).changes == []


def test_each_bad_row_is_named_by_row_and_column_and_nothing_is_applied(seats):
    a, b, _ = seats
    bad = csv_bytes("ons_code,priority,target,note",
                    "E14000654,1,true,fine row",       # row 2: good, but must not be applied
                    "E14999999,2,,",                    # row 3: unknown seat
                    "E14000921,7,,",                    # row 4: priority out of range
                    "E14000655,two,maybe,",             # row 5: priority and target
                    "E14000654,3,,",                    # row 6: duplicate
                    ",3,,")                             # row 7: empty code
    with pytest.raises(InvalidInput) as caught:
        target_list_import(actor=f.user("national"), data=bad)
    messages = caught.value.fields["file"]
    assert any(m.startswith("Row 3, column ons_code") and "E14999999" in m for m in messages)
    assert any(m.startswith("Row 4, column priority") and "7" in m for m in messages)
    assert any(m.startswith("Row 5, column priority") for m in messages)
    assert any(m.startswith("Row 5, column target") and "maybe" in m for m in messages)
    assert any(m.startswith("Row 6, column ons_code") and "row 2" in m for m in messages)
    assert any(m.startswith("Row 7, column ons_code") for m in messages)
    assert not any(m.startswith("Row 2") for m in messages)
    b.refresh_from_db()
    assert b.target_list_priority is None and b.priority == 4 and not b.is_target  # row 2 was not applied
    assert not CoordinatorAction.objects.filter(kind=CoordinatorAction.Kind.TARGET_LIST_IMPORTED).exists()


@pytest.mark.parametrize(("data", "needle"), [
    (b"ons_code,target\nE14000654,true\n", "column priority"),
    (b"\xff\xfe\x00", "UTF-8"),
    (b"ons_code,priority\n", "No rows"),
    (b"ons_code,priority\nE14000654,1,extra\n", "more cells"),
])
def test_a_malformed_file_is_refused_with_a_reason(seats, data, needle):
    with pytest.raises(InvalidInput) as caught:
        target_list_import(actor=None, data=data)
    assert needle in " ".join(caught.value.fields["file"])


def test_a_regional_organiser_cannot_replace_the_campaigns_list(seats):
    organiser = f.user("regional")
    OrganiserScopeFactory(user=organiser, regions=["Test"])
    with pytest.raises(PermissionDenied):
        target_list_import(actor=organiser, data=csv_bytes("ons_code,priority", "E14000654,1"),
                           scope=seat_scope_for(organiser))


def test_the_command_imports_and_reports_bad_rows(seats, tmp_path):
    good = tmp_path / "targets.csv"
    good.write_bytes(csv_bytes("ons_code,priority,target", "E14000654,1,yes"))
    out = io.StringIO()
    call_command("import_targets", str(good), stdout=out)
    assert "1 seats listed" in out.getvalue()
    assert Seat.objects.get(pk="E14000654").priority == 1
    action = CoordinatorAction.objects.get(kind=CoordinatorAction.Kind.TARGET_LIST_IMPORTED)
    assert action.actor is None and "import_targets" in action.params["file"]

    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv_bytes("ons_code,priority", "E14000655,1", "E14000654,9"))
    with pytest.raises(CommandError) as caught:
        call_command("import_targets", str(bad))
    assert "Row 3, column priority" in str(caught.value)
    assert Seat.objects.get(pk="E14000655").target_list_priority is None
    with pytest.raises(CommandError):
        call_command("import_targets", str(tmp_path / "missing.csv"))


def test_the_upload_page_imports_or_shows_every_bad_row(client, seats):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(f.user("national"))
    assert client.get("/coordinate/targets/").status_code == 200
    response = client.post("/coordinate/targets/", {"file": SimpleUploadedFile(
        "t.csv", csv_bytes("ons_code,priority", "E14000654,1", "E14000655,0"), content_type="text/csv")})
    assert response.status_code == 400
    assert "Row 3, column priority" in response.content.decode()
    assert Seat.objects.get(pk="E14000654").target_list_priority is None
    response = client.post("/coordinate/targets/", {"file": SimpleUploadedFile(
        "t.csv", csv_bytes("ons_code,priority,note", "E14000654,1,Key marginal"), content_type="text/csv")},
        follow=True)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Croydon Central" in page and "Key marginal" in page


def test_the_seat_page_and_the_public_results_say_which_rule_set_the_priority(client, seats):
    a, b, c = seats
    target_list_import(actor=None, data=csv_bytes("ons_code,priority", "E14000654,1"))
    seat_priority_change(actor=None, ons_code=c.pk, priority_override=2)
    client.force_login(f.user("national"))
    assert "set by: Campaign target list" in client.get(f"/coordinate/seats/{b.pk}/").content.decode()
    assert "set by: Coordinator’s choice" in client.get(f"/coordinate/seats/{c.pk}/").content.decode() or \
        "set by: Coordinator&#x27;s choice" in client.get(f"/coordinate/seats/{c.pk}/").content.decode()
    assert "set by: Won by 2,353 votes in 2024 (4.2%)" in client.get(f"/coordinate/seats/{a.pk}/").content.decode()

    from web.templatetags.volunteer_tags import seat_reason

    assert seat_reason(Seat.objects.get(pk=a.pk)) == "Sheffield Hallam: Won by 2,353 votes in 2024 (4.2%)."
    assert seat_reason(Seat.objects.get(pk=b.pk)) == "Croydon Central: Campaign target list."
    assert seat_reason(Seat.objects.get(pk=c.pk)) == "Croydon North: Coordinator's choice."
