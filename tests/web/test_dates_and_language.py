"""Pages speak en-GB: <html lang="en-GB">, and every date field shows and takes UK dates."""

from datetime import date

import pytest

from web.coordinators.forms import ExportPeriodForm, PeriodForm
from web.hosts.forms import CopySessionForm, SessionForm
from web.volunteer.forms import SearchForm


def test_the_site_speaks_british_english(client, db, settings):
    assert settings.LANGUAGE_CODE == "en-gb" and settings.USE_I18N
    assert '<html lang="en-GB">' in client.get("/").content.decode()


@pytest.mark.parametrize(("form_class", "field"), [
    (SearchForm, "date_from"), (SearchForm, "date_to"), (SessionForm, "date"),
    (CopySessionForm, "weekly_until"), (CopySessionForm, "date_1"), (PeriodForm, "date_from"), (ExportPeriodForm, "date_to"),
])
def test_date_fields_render_iso_for_the_picker_and_take_uk_dates(form_class, field, db):
    # A type=date input must be given an ISO value whatever the language; "06/12/2026" would leave it empty.
    html = str(form_class(initial={field: date(2026, 12, 6)})[field])
    assert 'type="date"' in html and 'value="2026-12-06"' in html and 'placeholder="dd/mm/yyyy"' in html
    form_field = form_class().fields[field]
    for typed in ("06/12/2026", "6/12/26", "2026-12-06"):
        assert form_field.clean(typed) == date(2026, 12, 6), typed
    with pytest.raises(Exception) as refused:
        form_field.clean("12/31/2026")  # US order: no 31st month
    assert "06/12/2026" in str(refused.value)
