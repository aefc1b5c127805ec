"""The coordinator's journey in Chromium on a laptop-sized window: dashboard, a seat, an overflow preview,
carrying it out, and the moved volunteer's manage page (/b/<token>) showing the redirect; assignment runs and the SMS log.
It runs on the real 2024 seats (the current boundary set: its GE2024 results and neighbours) and the real 2024
maps. Every coordinator page is scanned with axe, and the main ones are saved to docs/screenshots/."""

import re

import pytest
from playwright.sync_api import expect

from dispatch.models import AssignmentRun, CoordinatorAction
from notify.sms.models import SmsMessage
from seats.importers import seats_import
from seats.models import Seat, boundary_set_current
from seats.services import seat_need_set
from tests.dispatch import factories as f
from tests.factories import AssignmentRunFactory
from tests.web import coordinator_data as data
from tests.web.conftest import axe_violations, screenshot
from volunteers.models import Booking

pytestmark = pytest.mark.e2e

DESKTOP = {"width": 1280, "height": 900}
PASSWORD = "a-long-password-9"
# Seats with a slot of 4 places at different levels of fill, and a need a day that leaves them short by different
# shares, so the "how full" and the "shortfall" colourings of that day show every band: code: (booked, need).
# Battersea, Sheffield Hallam, Derby North, Leeds North West, Brighton Pavilion and Canterbury, by 2024-set codes.
FILLED_SEATS = {"E14001081": (0, 4), "E14001468": (1, 2), "E14001193": (2, 3), "E14001322": (3, 5),
                "E14001130": (4, 5), "E14001151": (4, 4)}


@pytest.fixture
def journey_data(settings, shared_data):
    settings.OVERFLOW_AUTO = False  # the coordinator moves the waitlist, not the after-commit trigger
    # The shortfall counts expected turnout (volunteers.turnout); with no history a place is expected at the prior.
    # At 1.0 each booked place counts whole, so the bands below are the bookings' (test_turnout.py tests the rest).
    settings.TURNOUT_PRIOR = 1.0
    seats_import(results=shared_data / "elections" / "ge2024_summary.csv",
                 centroids=shared_data / "geo" / "constituency_centroids_2024set.csv",
                 adjacency=shared_data / "geo" / "constituency_adjacency_2024set.csv", boundary_set="2024")
    assert boundary_set_current() == "2024" and Seat.objects.current().count() == 650
    area = data.area(waiting=2)
    for code, (booked, need) in FILLED_SEATS.items():
        seat = seat_need_set(ons_code=code, need_per_day=need)
        slot = f.session(seat, slots=[(f.day_at(10), f.day_at(12), 4)]).slots.get()
        f.fill(slot, near=seat, n=booked)
    data.staff(password=PASSWORD)
    return area


@pytest.fixture
def desktop(browser, live_server):
    context = browser.new_context(viewport=DESKTOP, locale="en-GB", timezone_id="Europe/London")
    page = context.new_page()
    yield page
    context.close()


def sign_in(page, live_server, next_path: str = "/coordinate/"):
    page.goto(live_server.url + next_path)
    page.get_by_label("Email address").fill("coord")  # staff: a username works too
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(re.escape(next_path) + "$"))


def assert_accessible(page):
    assert axe_violations(page) == [], page.url


def foreign_requests(page) -> list[str]:
    foreign: list[str] = []
    page.on("request", lambda r: foreign.append(r.url) if r.url.startswith("http") and
            not r.url.split("/")[2].startswith(("127.0.0.1", "localhost")) else None)
    return foreign


def test_coordinator_journey_from_the_dashboard_to_a_carried_out_overflow(desktop, live_server, journey_data):
    page = desktop
    foreign = foreign_requests(page)
    sign_in(page, live_server)
    day = f.day_at(0).date()  # the day of every session: each seat's need is for that one day
    page.get_by_label("From").fill(day.isoformat())
    page.get_by_label("To (inclusive)").fill(day.isoformat())
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("heading", name=f"Coverage from {day:%a} {day.day} {day:%b} to {day:%a} {day.day} {day:%b %Y}")).to_be_visible()
    expect(page.get_by_role("group", name=re.compile("Hex map of the constituencies"))).to_be_visible()
    legend = page.get_by_role("list").filter(has_text="need met")
    for band in ("short of 75% or more of its need", "short of 50–74% (1)", "short of 25–49% (2)",
                 "short of under 25% (1)", "need met (1)"):
        expect(legend).to_contain_text(band)
    assert page.locator("svg.map path[data-seat]").count() == 650
    for seat in Seat.objects.filter(sessions__isnull=False).distinct():  # each seat with sessions: a hex, a label
        expect(page.locator(f'svg.map path[data-seat="{seat.pk}"]')).to_have_count(1)
        expect(page.locator("svg.map text.seat-label", has_text=re.compile(f"^{re.escape(seat.name)}$"))).to_have_count(1)
    screenshot(page, "coordinator-dashboard-hex")
    assert_accessible(page)

    page.get_by_role("link", name="Boundaries").click()
    page.get_by_role("link", name="How full").click()
    expect(page.get_by_role("group", name=re.compile("Map of the constituencies, coloured by how full"))).to_be_visible()
    assert page.locator("svg.map-boundaries path[data-seat]").count() == 650
    screenshot(page, "coordinator-dashboard-boundaries")
    assert_accessible(page)

    page.get_by_label("Region").select_option("London")  # the map zooms to the region: the names can be read
    page.get_by_role("button", name="Show").click()
    expect(page.locator("svg.map-boundaries.zoomed")).to_have_count(1)
    for name in ("Battersea", "Croydon South", "Croydon West"):
        expect(page.locator("svg.map text.seat-label", has_text=re.compile(f"^{name}$"))).to_be_visible()
    expect(page.locator("svg.map text.seat-label", has_text="Canterbury")).to_have_count(0)
    label = page.locator("svg.map text.seat-label", has_text="Croydon South").bounding_box()
    assert label["height"] >= 16, label  # readable: sized from the box's height, London's names were 13 px boxes
    screenshot(page, "coordinator-dashboard-region")
    assert_accessible(page)

    page.get_by_role("link", name="Waitlisted", exact=True).click()  # sort: the busiest waitlist first
    first_row = page.get_by_role("table").get_by_role("row").nth(1)
    expect(first_row.get_by_role("rowheader")).to_have_text("Croydon South")
    first_row.get_by_role("link", name="Croydon South").click()

    expect(page.get_by_role("heading", level=1, name="Croydon South")).to_be_visible()
    expect(page.get_by_label("Priority override")).to_be_visible()
    screenshot(page, "coordinator-seat")
    assert_accessible(page)

    page.get_by_role("link", name="Preview the overflow of this seat").click()
    plan = page.get_by_role("table")
    expect(plan.get_by_role("row", name=re.compile("Waiting Person0"))).to_contain_text("Croydon West")
    expect(plan).to_contain_text("km")
    screenshot(page, "coordinator-overflow")
    assert_accessible(page)

    page.get_by_role("button", name="Carry out the overflow").click()
    expect(page.get_by_role("heading", level=1, name="Overflow carried out")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("2 moved, 0 could not be placed")
    assert_accessible(page)
    action = CoordinatorAction.objects.get(kind=CoordinatorAction.Kind.OVERFLOW_EXECUTED)
    assert action.result["moved"] == 2 and action.actor.username == "coord"

    # The moved volunteer opens the private link from their text (a browser of their own, not signed in):
    # the manage page says they were moved and leads to the new place in Croydon West.
    moved = Booking.objects.get(pk=journey_data.waiting[0].pk)
    assert moved.status == Booking.Status.REDIRECTED
    volunteer_page = page.context.browser.new_context(viewport={"width": 375, "height": 812}).new_page()
    volunteer_page.goto(f"{live_server.url}/b/{moved.manage_token}")
    expect(volunteer_page.get_by_role("status")).to_contain_text("Moved")
    expect(volunteer_page.get_by_role("status")).to_contain_text("we booked you a place at a session nearby that has room")
    volunteer_page.get_by_role("link", name="See your new place").click()
    expect(volunteer_page.get_by_text("Croydon West").first).to_be_visible()
    assert volunteer_page.url.endswith(f"/b/{moved.redirected_to.manage_token}")
    volunteer_page.context.close()

    page.get_by_role("navigation", name="Coordinator tools").get_by_role("link", name="Audit log").click()
    expect(page.get_by_role("table")).to_contain_text("Overflow carried out")
    assert_accessible(page)
    assert foreign == []


def test_an_assignment_run_from_start_to_commit(desktop, live_server, journey_data):
    page = desktop
    start, end = f.day_at(0), f.day_at(23)
    for n in range(4):
        f.volunteer(lat=journey_data.near.lat, lng=journey_data.near.lng, windows=[(start, end)], name=f"Avail Able{n}")
    sign_in(page, live_server, "/coordinate/runs/")
    assert_accessible(page)
    page.get_by_label("From").fill(start.date().isoformat())
    page.get_by_label("To (inclusive)").fill(start.date().isoformat())
    page.get_by_role("button", name="Start a run").click()
    expect(page.get_by_role("heading", name=re.compile(r"^Assignment run \d+$"))).to_be_visible()
    expect(page.locator("#run-state")).to_have_text("Ready to commit")
    expect(page.get_by_role("progressbar")).to_have_attribute("value", "100")
    expect(page.get_by_role("button", name="Commit: book 4 volunteers")).to_be_visible()
    screenshot(page, "coordinator-run")
    assert_accessible(page)
    page.get_by_role("button", name="Commit: book 4 volunteers").click()
    expect(page.locator("#run-state")).to_have_text("Committed")
    run = AssignmentRun.objects.get()
    assert run.state == AssignmentRun.State.COMMITTED and run.totals["booked"] == 4


def test_the_progress_bar_follows_a_running_run_with_javascript(desktop, live_server, journey_data):
    page = desktop
    run = AssignmentRunFactory(params={"date_from": "2026-12-05T00:00:00+00:00",
                                               "date_to": "2026-12-06T00:00:00+00:00"},
                                       state=AssignmentRun.State.RUNNING, progress=40, progress_message="Solving")
    sign_in(page, live_server, f"/coordinate/runs/{run.pk}/")
    expect(page.get_by_role("progressbar")).to_have_attribute("value", "40")
    assert_accessible(page)
    AssignmentRun.objects.filter(pk=run.pk).update(progress=75, progress_message="Saving the proposals")
    expect(page.get_by_role("progressbar")).to_have_attribute("value", "75", timeout=10_000)
    expect(page.get_by_role("status")).to_contain_text("Saving the proposals")
    AssignmentRun.objects.filter(pk=run.pk).update(state=AssignmentRun.State.READY, progress=100,
                                                   progress_message="Ready to commit")
    expect(page.locator("#run-state")).to_have_text("Ready to commit", timeout=10_000)


def test_the_sms_log_masks_numbers_and_shows_one_when_asked(desktop, live_server, journey_data):
    page = desktop
    waiting = journey_data.waiting
    failed = data.sms(waiting[0], status=SmsMessage.Status.FAILED, error_code=30003, attempts=3)
    data.sms(waiting[1], status=SmsMessage.Status.SKIPPED, skip_reason="opted_out")
    data.sms(waiting[1], status=SmsMessage.Status.DELIVERED, attempts=2)
    sign_in(page, live_server, "/coordinate/sms/")
    page.get_by_label("Status").select_option("failures")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("table")).to_contain_text("30003")
    expect(page.get_by_role("table")).not_to_contain_text(failed.to)
    screenshot(page, "coordinator-sms")
    assert_accessible(page)
    page.get_by_role("link", name=re.compile(rf"\(message {failed.pk}\)")).click()
    assert_accessible(page)
    page.get_by_role("button", name="Show the number and the text").click()
    expect(page.get_by_role("link", name=failed.to)).to_be_visible()
    assert_accessible(page)
    assert CoordinatorAction.objects.filter(kind=CoordinatorAction.Kind.PERSONAL_DATA).count() == 1


def test_the_coordinator_pages_work_at_375_px(page, live_server, journey_data):
    sign_in(page, live_server)
    for path in ("/coordinate/", f"/coordinate/seats/{data.FULL}/", f"/coordinate/overflow/?seat={data.FULL}",
                 "/coordinate/sms/"):
        page.goto(live_server.url + path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, (path, width)
    page.goto(live_server.url + "/coordinate/")
    assert_accessible(page)
