"""The coordinators' page for the day-before reminders: the plan before the window, progress during it."""

from datetime import timedelta

import pytest
from django.utils import timezone

from notify.sms.models import SmsMessage
from notify.sms.services.reminder_window import reminder_window
from tests.web import coordinator_data as data
from volunteers.models import Booking

pytestmark = pytest.mark.django_db

URL = "/coordinate/sms/reminders/"


@pytest.fixture
def tonight(settings):
    """Today's plan at one text a second: three sent, two waiting, two that do not fit, one dropped by us and one
    by Twilio (error 30036)."""
    settings.SMS_SENDER_CAPACITY_PER_SECOND = 1
    settings.SMS_RATE_PER_SECOND = 0
    data.area(waiting=7)
    start, end = reminder_window(timezone.localdate())
    rows = [("queued", "", None), ("queued", "", None), ("delivered", "", None), ("pending", "", None),
            ("pending", "", None), ("skipped", "dropped_late", None), ("failed", "", 30036)]
    bookings = list(Booking.objects.order_by("pk")[:len(rows) + 2])
    for index, (booking, (status, reason, code)) in enumerate(zip(bookings, rows + [("pending", "", None)] * 2,
                                                                  strict=True)):
        message = data.sms(booking, status=status, skip_reason=reason, error_code=code,
                           kind=SmsMessage.Kind.REMINDER_DAY_BEFORE, attempts=index + 1)
        after = start + timedelta(seconds=index) if index < len(rows) else end + timedelta(seconds=index)
        SmsMessage.objects.filter(pk=message.pk).update(send_after=after, next_attempt_at=after, send_by=end)
    return start, end


def test_the_plan_says_how_many_by_when_and_how_many_do_not_fit(client, tonight):
    client.force_login(data.staff())
    page = client.get(URL).content.decode()
    figures = dict(zip(
        ("Reminders planned", "Do not fit", "Accepted by Twilio", "Delivered", "Waiting", "Dropped late", "Failed"),
        ("9", "2", "2", "1", "4", "2", "0"), strict=True))
    for label, value in figures.items():
        assert f"<dt>{label}</dt><dd>" in page, label
        after = page.split(f"<dt>{label}</dt><dd>", 1)[1]
        assert after.split("</dd>", 1)[0].replace('<span class="badge bad">', "").replace(
            '<span class="badge warn">', "").replace("</span>", "") == value, (label, after[:80])
    start, end = tonight
    assert f"{start:%H:%M}–{end:%H:%M}" in page
    assert "2 reminders do not fit in the window at this rate" in page
    assert f'href="{URL}"' in page  # refreshed by a plain link, no script


def test_the_sms_log_links_to_the_plan_and_labels_texts_dropped_late(client, tonight):
    client.force_login(data.staff())
    page = client.get("/coordinate/sms/").content.decode()
    assert f'href="{URL}"' in page
    assert page.count('<span class="badge warn">dropped late</span>') == 2


def test_before_any_reminder_is_written_the_page_says_so(client):
    client.force_login(data.staff())
    page = client.get(URL).content.decode()
    assert "No day-before reminders are planned for today yet" in page


def test_a_text_dropped_late_says_why_and_is_not_offered_again(client, tonight):
    client.force_login(data.staff())
    dropped = SmsMessage.objects.get(skip_reason="dropped_late")
    page = client.get(f"/coordinate/sms/{dropped.pk}/").content.decode()
    assert "It cannot be sent again." in page and "Send it again" not in page
    client.post(f"/coordinate/sms/{dropped.pk}/retry/")
    dropped.refresh_from_db()
    assert (dropped.status, dropped.skip_reason) == ("skipped", "dropped_late")
