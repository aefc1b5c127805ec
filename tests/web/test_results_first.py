"""The results page puts the sessions first (issue 22): a one-line summary with "change", each card saying why its
seat matters and when in words people use, a count, and the seats that matter below the list, each a link."""

import html
import re
from datetime import date

import pytest
from django.urls import reverse
from django.utils import translation

from tests.web.volunteer_data import VOLUNTEER_POSTCODE, neighbourhood
from web.dates import day_in_words

pytestmark = pytest.mark.django_db


@pytest.fixture
def area():
    return neighbourhood()


def _text(response) -> str:
    return html.unescape(response.content.decode())


def _find(client, **query):
    return client.get(reverse("volunteer:find"), {"postcode": VOLUNTEER_POSTCODE, **query})


def test_the_sessions_come_before_the_seats_and_the_search_form(client, area):
    page = _text(_find(client))
    first_card = page.index('<li class="card">')
    assert first_card < page.index("The seats that matter near you")
    assert first_card < page.index('<form method="get"')
    # Nothing but the heading and the one-line summary before the first card.
    assert page.index("<h1") < page.index('class="search-summary"') < first_card


def test_the_summary_counts_the_sessions_and_its_change_link_needs_no_script(client, area):
    page = _text(_find(client))
    summary = re.search(r'<p class="search-summary">(.*?)</p>', page, re.S).group(1)
    assert "2 sessions within 25 km, any day" in summary
    assert 'href="#search"' in summary and "Change" in summary
    assert 'id="search"' in page  # the form the link goes to, prefilled with the postcode's district: the page
    assert 'value="S10"' in page and VOLUNTEER_POSTCODE not in page  # is the district's, shared by everyone in it


def test_the_summary_names_the_dates_searched(client, area):
    day = area.other_session.starts_at.date()
    page = _text(_find(client, date_from=day.isoformat(), date_to=day.isoformat()))
    assert re.search(r"\d+ sessions? within 25 km, on \w{3} \d+ \w{3}", page)


def test_the_count_says_more_than_when_the_search_found_more_than_it_ranked(client, area, monkeypatch):
    from dispatch.services import suggestions
    from tests.factories import CanvassSessionFactory, SlotFactory

    monkeypatch.setattr(suggestions, "RANKED_POOL", 10)
    for index in range(12):
        session = CanvassSessionFactory(meeting_point=area.session.meeting_point, title=f"Extra {index}",
                                        starts_at=area.slot.starts_at, ends_at=area.slot.ends_at)
        SlotFactory(session=session)
    assert re.search(r"More than (9|10) sessions within 25 km", _text(_find(client)))  # 10 nearest, 1 started


def test_each_card_says_why_its_seat_matters(client, area):
    page = _text(_find(client))
    assert "Top priority: won by 2,353 votes" in page
    assert "Priority 5: won by 27,748 votes" in page
    card = page[page.index('<li class="card">'):]
    assert card.index("Crookes Saturday doors") < card.index("Top priority: won by 2,353 votes")


def test_a_seat_on_the_target_list_says_so(client, area):
    area.central.target_list_priority = 2
    area.central.priority = 2
    area.central.save()
    assert "High priority: campaign target list" in _text(_find(client))


def test_slots_say_when_in_words(client, area):
    page = _text(_find(client))
    when = day_in_words(area.slot.starts_at.astimezone().date(), date.today())
    assert f"{when}, 10:00-12:00" in page


@pytest.mark.parametrize("day, words", [
    (date(2026, 12, 7), "Today"),
    (date(2026, 12, 8), "Tomorrow"),
    (date(2026, 12, 12), "This Saturday (12 Dec)"),
    (date(2026, 12, 13), "This Sunday (13 Dec)"),
    (date(2026, 12, 15), "Next Tuesday (15 Dec)"),
    (date(2026, 12, 20), "Next Sunday (20 Dec)"),
    (date(2026, 12, 21), "Mon 21 Dec"),
    (date(2026, 12, 6), "Sun 6 Dec"),
])
def test_days_in_words_from_a_monday(day, words):
    with translation.override("en-gb"):
        assert day_in_words(day, date(2026, 12, 7)) == words


def test_from_a_saturday_the_monday_after_is_next_monday():
    with translation.override("en-gb"):
        assert day_in_words(date(2026, 12, 14), date(2026, 12, 12)) == "Next Monday (14 Dec)"
        assert day_in_words(date(2026, 12, 13), date(2026, 12, 12)) == "Tomorrow"


def test_the_seats_that_matter_link_to_their_own_sessions(client, area):
    page = _text(_find(client))
    seats = page[page.index("The seats that matter near you"):]
    link = re.search(r'<a href="([^"]*seat=E14000921[^"]*)">Sessions in Sheffield Hallam</a>', seats)
    assert link, seats[:600]
    filtered = _text(client.get(html.unescape(link.group(1))))
    assert "Sessions in Sheffield Hallam near S10<" in filtered
    assert "Crookes Saturday doors" in filtered and "City centre evening" not in filtered
    assert "1 session within 25 km" in filtered
    assert "All seats" in filtered


@pytest.mark.parametrize("seat", ["junk", "E1400092", "'; drop table", "E14999999"])
def test_a_junk_or_unknown_seat_never_breaks_the_page(client, area, seat):
    response = _find(client, seat=seat)
    assert response.status_code == 200


def test_paging_keeps_the_seat(client, area, monkeypatch):
    from dispatch.services import suggestions
    from tests.factories import CanvassSessionFactory, SlotFactory

    monkeypatch.setattr(suggestions, "RANKED_POOL", 10)
    for index in range(12):
        session = CanvassSessionFactory(meeting_point=area.session.meeting_point, title=f"Extra {index}",
                                        starts_at=area.slot.starts_at, ends_at=area.slot.ends_at)
        SlotFactory(session=session)
    response = _find(client, seat=area.hallam.ons_code)
    assert "seat=E14000921" in response.context["next_url"]


def test_the_results_page_stays_light(client, area):
    from tests.factories import CanvassSessionFactory, SlotFactory

    for index in range(12):
        session = CanvassSessionFactory(meeting_point=area.session.meeting_point, title=f"Extra session {index}",
                                        starts_at=area.slot.starts_at, ends_at=area.slot.ends_at)
        SlotFactory(session=session)
        SlotFactory(session=session, starts_at=area.full_slot.starts_at, ends_at=area.full_slot.ends_at)
    assert len(_find(client).content) < 30 * 1024


def test_the_cards_reuse_the_nearby_seats_instead_of_reading_them_again(client, area):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        page = _text(_find(client))
    assert "Top priority: won by 2,353 votes" in page
    assert not [q for q in captured.captured_queries if "WHERE ons_code IN" in q["sql"]]


def test_a_wrapped_card_line_never_starts_with_its_separator(client, area):
    page = _find(client).content.decode()
    cards = page[page.index('<li class="card">'):page.index("The seats that matter near you")]
    assert "·" in cards
    # The dot is glued to what comes before it, so a narrow screen breaks after "· ", never before it.
    assert re.findall(r"(?:&nbsp;|\xa0)·", cards) and not re.findall(r"[^;\xa0]·", cards)
