"""Regional organisers: refused outside their seats on every coordinator page and API endpoint.

The page and endpoint lists are read from the URL conf, so a new coordinator page or endpoint fails here until
it says how a regional organiser is kept to their seats."""

import csv
import io
from dataclasses import dataclass

import pytest
from django.urls import URLResolver, get_resolver
from django.utils import timezone
from rest_framework.test import APIClient

from core.permissions import IsCoordinator
from dispatch.models import AssignmentRun, CoordinatorAction
from seats.models import Seat
from sessions.models import CanvassSession, HostStanding
from tests.dispatch import factories as f
from tests.factories import AssignmentRunFactory, CoordinatorActionFactory, LiftOfferFactory, OrganiserScopeFactory
from tests.web import coordinator_data as data
from volunteers.models import Booking
from web.coordinators import urls as coordinator_urls

pytestmark = pytest.mark.django_db


@dataclass
class World:
    north: Seat
    south: Seat
    south_session: CanvassSession
    south_booking: Booking
    south_waiting: Booking
    south_run: AssignmentRun
    north_run: AssignmentRun
    south_sms: int
    others_action: int
    south_review: CanvassSession
    north_review: CanvassSession


@pytest.fixture(autouse=True)
def manual_overflow(settings):
    settings.OVERFLOW_AUTO = False


@pytest.fixture
def world() -> World:
    north = f.seat("E14000201", lat=53.37, lng=-1.55, priority=2, name="Northtown", region="North")
    south = f.seat("E14000301", lat=51.37, lng=-0.09, priority=1, name="Southville", region="South")
    session = f.session(south, slots=[(f.day_at(10), f.day_at(12), 1)])
    slot = session.slots.get()
    booking = f.book(f.volunteer(lat=south.lat, lng=south.lng, name="Sally Southern", seat_obj=south), slot)
    waiting = f.book(f.volunteer(lat=south.lat, lng=south.lng, name="Walter Southern", seat_obj=south), slot)
    f.session(north, slots=[(f.day_at(10), f.day_at(12), 3)])
    national = f.user("national")
    south_run = AssignmentRunFactory(params={"region": "South", "seats": [], "date_from": "x", "date_to": "y"})
    north_run = AssignmentRunFactory(params={"region": None, "seats": ["E14000201"], "date_from": "x",
                                                     "date_to": "y"})
    sms = data.sms(booking, status="failed", error_code=30003)
    action = CoordinatorActionFactory(actor=national, kind=CoordinatorAction.Kind.SEAT_PRIORITY_SET,
                                      params={"seat": south.pk})
    south_review = f.session(south, slots=[(f.day_at(14), f.day_at(16), 3)])
    north_review = f.session(north, slots=[(f.day_at(14), f.day_at(16), 3)])
    for new, title in ((south_review, "Southern newcomer"), (north_review, "Northern newcomer")):
        CanvassSession.objects.filter(pk=new.pk).update(status=CanvassSession.Status.REVIEW, title=title)
        new.refresh_from_db()
    return World(north, south, session, booking, waiting, south_run, north_run, sms.pk, action.pk, south_review,
                 north_review)


@pytest.fixture
def organiser():
    user = f.user("regional")
    OrganiserScopeFactory(user=user, regions=["North"])
    return user


def refused(response, where):
    assert response.status_code in (403, 404), (where, response.status_code, response.content[:300])


def csv_rows(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig")
                                           if response.streaming else response.content.decode("utf-8-sig"))))


# Each coordinator page: how a regional organiser of North is kept out of South (refused, or the rows hidden).
def _dashboard(c, w):
    refused(c.get("/coordinate/?region=South"), "dashboard region")
    page = c.get("/coordinate/").content.decode()
    assert "Northtown" in page and "Southville" not in page


def _seat(c, w):
    refused(c.get(f"/coordinate/seats/{w.south.pk}/"), "seat")
    refused(c.post(f"/coordinate/seats/{w.south.pk}/", {"priority_override": "1"}), "seat priority")
    refused(c.post(f"/coordinate/seats/{w.south.pk}/", {"need_per_day": "9"}), "seat need")
    assert Seat.objects.get(pk=w.south.pk).priority_override is None


def _overflow(c, w):
    refused(c.get(f"/coordinate/overflow/?seat={w.south.pk}"), "overflow preview seat")
    refused(c.get(f"/coordinate/overflow/?session={w.south_session.pk}"), "overflow preview session")
    refused(c.post("/coordinate/overflow/", {"seat": w.south.pk}), "overflow seat")
    refused(c.post("/coordinate/overflow/", {"session": w.south_session.pk}), "overflow session")


def _runs(c, w):
    refused(c.post("/coordinate/runs/", {"region": "South"}), "run start")
    page = c.get("/coordinate/runs/").content.decode()
    assert f"/coordinate/runs/{w.north_run.pk}/" in page and f"/coordinate/runs/{w.south_run.pk}/" not in page


def _run(c, w):
    refused(c.get(f"/coordinate/runs/{w.south_run.pk}/"), "run")
    assert c.get(f"/coordinate/runs/{w.north_run.pk}/").status_code == 200


def _run_progress(c, w):
    refused(c.get(f"/coordinate/runs/{w.south_run.pk}/progress/"), "run progress")


def _run_commit(c, w):
    refused(c.post(f"/coordinate/runs/{w.south_run.pk}/commit/"), "run commit")


def _south_lift(w):
    from travel.models import LiftOffer

    slot = w.south_booking.slot
    return LiftOffer.objects.filter(booking=w.south_booking).first() or LiftOfferFactory(
        booking=w.south_booking, slot=slot, seats=2, pickup_kind="station", pickup_label="Croydon",
        pickup_postcode="CR0", pickup_district="CR0", pickup_lat=51.37, pickup_lng=-0.09, departs_at=slot.starts_at)


def _lifts(c, w):
    offer = _south_lift(w)
    page = c.get(f"/coordinate/lifts/?date={offer.slot.starts_at.date().isoformat()}").content.decode()
    assert "Southville" not in page and offer.token not in page


def _lift_block(c, w):
    from travel.models import LiftBlock

    refused(c.post("/coordinate/lifts/block/", {"offer": _south_lift(w).token, "reason": "x"}), "lift block")
    assert not LiftBlock.objects.exists()


def _sms(c, w):
    page = c.get("/coordinate/sms/").content.decode()
    assert f"/coordinate/sms/{w.south_sms}/" not in page


def _sms_message(c, w):
    refused(c.get(f"/coordinate/sms/{w.south_sms}/"), "sms message")
    refused(c.post(f"/coordinate/sms/{w.south_sms}/"), "sms reveal")


def _sms_retry(c, w):
    refused(c.post(f"/coordinate/sms/{w.south_sms}/retry/"), "sms retry")


def _national_only(url):
    def check(c, w):
        refused(c.get(url), url)
        refused(c.post(url), url)
    return check


def _messages(c, w):
    """A message to South's seat is a 404, to its region a 403; "all my seats" on South's day reaches nobody in
    South (its two bookings are there)."""
    day = timezone.localtime(w.south_booking.slot.starts_at).date().isoformat()
    form = {"day": day, "purpose": "service", "body": "Hello", "action": "send"}
    refused(c.post("/coordinate/messages/", {**form, "seat": w.south.pk}), "message a seat")
    refused(c.post("/coordinate/messages/", {**form, "region": "South"}), "message a region")
    preview = c.post("/coordinate/messages/", {**form, "action": "preview"}).content.decode()
    assert "0 volunteers are booked." in preview, preview[:2000]


def _exports(c, w):
    assert ">South<" not in c.get("/coordinate/exports/").content.decode()


def _export_bookings(c, w):
    rows = csv_rows(c.get("/coordinate/exports/bookings.csv"))
    assert str(w.south_booking.pk) not in {row[next(iter(row))] for row in rows}
    assert "Sally Southern" not in str(rows)


def _export_volunteers(c, w):
    assert "Sally Southern" not in str(csv_rows(c.get("/coordinate/exports/volunteers.csv")))


def _export_coverage(c, w):
    refused(c.get("/coordinate/exports/coverage.csv?region=South"), "coverage csv")
    assert "Southville" not in str(csv_rows(c.get("/coordinate/exports/coverage.csv")))


def _export_sms_failures(c, w):
    assert str(w.south_sms) not in str(csv_rows(c.get("/coordinate/exports/sms-failures.csv?sms-date_from=")))


def _audit(c, w):
    assert f"/coordinate/audit/{w.others_action}/" not in c.get("/coordinate/audit/").content.decode()


def _audit_action(c, w):
    refused(c.get(f"/coordinate/audit/{w.others_action}/"), "audit action")


def _reviews(c, w):
    page = c.get("/coordinate/reviews/").content.decode()
    assert w.south_review.title not in page and w.north_review.title in page


def _review_answer(action):
    def check(c, w):
        refused(c.post(f"/coordinate/reviews/{w.south_review.pk}/{action}/", {"reason": "Not here"}), action)
        assert CanvassSession.objects.get(pk=w.south_review.pk).status == CanvassSession.Status.REVIEW
    return check


def _host_trust(c, w):
    refused(c.post(f"/coordinate/hosts/{w.south_review.meeting_point.host_id}/trust/", {"trusted": "1"}), "trust")
    assert not HostStanding.objects.filter(host_id=w.south_review.meeting_point.host_id, trusted=True).exists()


def _after_pages(c, w):
    """After the session (web.coordinators.aftercare): the report, its CSV and the live turnout list North only."""
    from datetime import timedelta

    from django.utils import timezone

    from sessions.models import Slot

    # The south slot ran today, so it would show in all three.
    now = timezone.now()
    Slot.objects.filter(session=w.south_session).update(starts_at=now - timedelta(hours=1), ends_at=now)
    refused(c.get(f"/coordinate/after/?seat={w.south.pk}"), "after seat")
    refused(c.get(f"/coordinate/after/report.csv?seat={w.south.pk}"), "after csv seat")
    assert "Southville" not in c.get("/coordinate/after/").content.decode()
    assert "Southville" not in str(csv_rows(c.get("/coordinate/after/report.csv")))
    assert "Southville" not in c.get("/coordinate/live/").content.decode()


def _seat_overbook(c, w):
    from volunteers.models import SeatTurnoutPolicy

    refused(c.post(f"/coordinate/seats/{w.south.pk}/overbook/", {"overbook": "on"}), "seat overbook")
    assert not SeatTurnoutPolicy.objects.filter(seat=w.south).exists()


def _seat_confirm(c, w):
    from seats.models import Seat

    refused(c.post(f"/coordinate/seats/{w.south.pk}/confirm/", {"confirm_required": "on"}), "seat confirm")
    assert not Seat.objects.get(pk=w.south.pk).confirm_required


PAGES = {
    "after": _after_pages, "after-csv": _after_pages, "live": _after_pages, "seat-overbook": _seat_overbook,
    "seat-confirm": _seat_confirm,
    "dashboard": _dashboard, "seat": _seat, "overflow": _overflow, "runs": _runs, "run": _run,
    "run-progress": _run_progress, "run-commit": _run_commit, "sms": _sms, "sms-message": _sms_message,
    "sms-retry": _sms_retry, "email": _national_only("/coordinate/email/"), "exports": _exports,
    "export-bookings": _export_bookings, "export-volunteers": _export_volunteers, "export-coverage": _export_coverage,
    "export-sms-failures": _export_sms_failures, "targets": _national_only("/coordinate/targets/"),
    "audit": _audit, "audit-action": _audit_action, "reviews": _reviews, "review-approve": _review_answer("approve"),
    "review-refuse": _review_answer("refuse"), "host-trust": _host_trust,
    "held-addresses": _national_only("/coordinate/held-addresses/"),
    "held-address-release": _national_only("/coordinate/held-addresses/1/release/"),
    "messages": _messages, "export-consent-ledger": _national_only("/coordinate/exports/consent-ledger.csv"),
    "sms-reminders": _national_only("/coordinate/sms/reminders/"),
    "lifts": _lifts,
    "lift-block": _lift_block,
}


def test_every_coordinator_page_keeps_a_regional_organiser_to_their_seats(client, world, organiser):
    names = {pattern.name for pattern in coordinator_urls.urlpatterns}
    assert names == set(PAGES), "a new coordinator page: say here how a regional organiser is kept out"
    client.force_login(organiser)
    for check in PAGES.values():
        check(client, world)
    assert not CoordinatorAction.objects.filter(actor=organiser).exclude(
        kind=CoordinatorAction.Kind.PERSONAL_DATA).exists()  # nothing was done outside North
    assert Booking.objects.get(pk=world.south_waiting.pk).status == Booking.Status.WAITLISTED


def test_a_regional_organiser_answers_the_reviews_in_their_seats(client, world, organiser):
    client.force_login(organiser)
    response = client.post(f"/coordinate/reviews/{world.north_review.pk}/approve/")
    assert response.status_code == 302
    assert CanvassSession.objects.get(pk=world.north_review.pk).status == CanvassSession.Status.PUBLISHED


def test_a_regional_organisers_review_api_lists_only_their_seats(world, organiser):
    api = APIClient()
    api.force_authenticate(organiser)
    ids = [row["id"] for row in api.get("/api/reviews/").json()["results"]]
    assert ids == [world.north_review.pk]
    refused(api.post(f"/api/reviews/{world.south_review.pk}/approve/"), "api approve")


def test_a_national_coordinator_still_sees_everything(client, world):
    client.force_login(f.user("national"))
    assert "Southville" in client.get("/coordinate/").content.decode()
    assert client.get(f"/coordinate/seats/{world.south.pk}/").status_code == 200
    assert client.get(f"/coordinate/runs/{world.south_run.pk}/").status_code == 200
    assert client.get("/coordinate/targets/").status_code == 200
    day = timezone.localtime(world.south_booking.slot.starts_at).date().isoformat()
    preview = client.post("/coordinate/messages/", {"day": day, "purpose": "service", "body": "Hi", "region": "South",
                                                    "action": "preview"})
    assert "1 volunteer is booked." in preview.content.decode()  # Sally's place (Walter waits)


# ---- the API --------------------------------------------------------------------------------------------------

def _coordinator_endpoints():
    """(route name, view class, {method: action}) of every API endpoint that IsCoordinator guards."""
    def walk(patterns):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns)
            else:
                yield pattern
    for pattern in walk(get_resolver().url_patterns):
        cls = getattr(pattern.callback, "cls", None)
        if cls is None:
            continue
        actions = getattr(pattern.callback, "actions", None) or {}
        permissions = list(getattr(cls, "permission_classes", []))
        for action in actions.values():
            permissions += list(getattr(getattr(cls, action, None), "kwargs", {}).get("permission_classes", []))
        if any(isinstance(p, type) and issubclass(p, IsCoordinator) for p in permissions):
            yield pattern, cls, actions


API = {
    "seat-priority": lambda a, w: [a.patch(f"/api/seats/{w.south.pk}/priority/", {"priority_override": 1},
                                           format="json")],
    "export-bookings": lambda a, w: [a.get(f"/api/exports/bookings/?seat={w.south.pk}")],
    "export-volunteers": lambda a, w: [a.get(f"/api/exports/volunteers/?seat={w.south.pk}")],
    "dispatch-runs": lambda a, w: [
        a.post("/api/dispatch/runs/", {"date_from": f.day_at(0).isoformat(), "date_to": f.day_at(23).isoformat(),
                                       "region": "South"}, format="json"),
        a.post("/api/dispatch/runs/", {"date_from": f.day_at(0).isoformat(), "date_to": f.day_at(23).isoformat(),
                                       "seats": [w.south.pk]}, format="json")],
    "dispatch-run": lambda a, w: [a.get(f"/api/dispatch/runs/{w.south_run.pk}/")],
    "dispatch-run-commit": lambda a, w: [a.post(f"/api/dispatch/runs/{w.south_run.pk}/commit/")],
    "dispatch-overflow": lambda a, w: [
        a.post("/api/dispatch/overflow/", {"seat": w.south.pk}, format="json"),
        a.post("/api/dispatch/overflow/", {"session": w.south_session.pk}, format="json"),
        a.post("/api/dispatch/overflow/", {"seat": w.north.pk, "target_seats": [w.south.pk]}, format="json")],
    "dispatch-coverage": lambda a, w: [a.get("/api/dispatch/coverage/?region=South")],
    "export-coverage": lambda a, w: [a.get("/api/exports/coverage/?region=South")],
}
# Scoped endpoints that list rows: the South rows are left out rather than refused.
API_LISTS = {
    "export-sms-failures": lambda a, w: str(w.south_sms) not in str(csv_rows(a.get("/api/exports/sms-failures/"))),
}


def test_every_coordinator_api_endpoint_keeps_a_regional_organiser_to_their_seats(world, organiser):
    api = APIClient()
    api.force_authenticate(organiser)
    seen = set()
    for pattern, cls, actions in list(_coordinator_endpoints()):
        name = pattern.name
        seen.add(name)
        if getattr(cls, "seat_scoped", False):
            assert name in API or name in API_LISTS, f"{name}: say here how a regional organiser is kept out"
            if name in API:
                for response in API[name](api, world):
                    refused(response, name)
            else:
                assert API_LISTS[name](api, world), name
            continue
        # National-only: refused outright, whatever the method and arguments.
        route = str(pattern.pattern).lstrip("^").rstrip("$")
        url = "/api/" + route.replace("(?P<pk>[0-9]+)", "1").replace("<int:pk>", "1")
        for method in list(actions or {"get": None, "post": None}):
            response = getattr(api, method)(url, {}, format="json")
            assert response.status_code == 403, (name, method, url, response.status_code)
    assert seen >= set(API) | set(API_LISTS)
    assert Booking.objects.get(pk=world.south_waiting.pk).status == Booking.Status.WAITLISTED
    assert not AssignmentRun.objects.exclude(pk__in=[world.south_run.pk, world.north_run.pk]).exists()


def test_a_regional_organiser_sees_their_seats_in_coverage_and_runs_only_there(world, organiser):
    api = APIClient()
    api.force_authenticate(organiser)
    rows = api.get("/api/dispatch/coverage/", {"date_from": f.day_at(0).isoformat(),
                                               "date_to": f.day_at(23).isoformat()}).json()
    assert {row["seat"] for row in rows} == {world.north.pk}
    response = api.post("/api/dispatch/runs/", {"date_from": f.day_at(0).isoformat(),
                                                "date_to": f.day_at(23).isoformat()}, format="json")
    assert response.status_code == 202, response.json()
    assert response.json()["params"]["seats"] == [world.north.pk]  # all of their seats, none of South's


def test_a_regional_organiser_manages_sessions_of_their_seats_only_through_the_host_api(world, organiser):
    api = APIClient()
    api.force_authenticate(organiser)
    listed = api.get("/api/sessions/?mine=true").json()  # the public search is public; "mine" is what they manage
    ids = {row["id"] for row in (listed["results"] if isinstance(listed, dict) else listed)}
    assert world.south_session.pk not in ids
    assert api.post(f"/api/sessions/{world.south_session.pk}/cancel/").status_code in (403, 404)
    world.south_session.refresh_from_db()
    assert world.south_session.status == CanvassSession.Status.PUBLISHED
