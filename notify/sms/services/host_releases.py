"""The host's text when places on their session nobody confirmed in time go to the waitlist (notify.host_releases):
one text per session and release run, naming who, written in the releasing transaction. A host's text like the
others (notify.sms.services.hosts): only to a host who takes texts each time at a proven mobile, held in quiet
hours, counted in the number's daily limit."""

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext, ngettext

from core.languages import language_override
from notify.sms.models import HostSmsPreference, SmsMessage
from notify.sms.segments import segments_count
from notify.sms.texts import _when, host_session_url
from sessions.hosts import host_language
from volunteers.models import Booking
from volunteers.selectors import roster_person

Status = SmsMessage.Status


def host_released_text(*, bookings: list[Booking], language: str) -> str:
    """"Frontroom: 2 places on Saturday doors (Sat 7 Dec, 10:00) weren't confirmed in time and went to the
    waitlist: Ann, Ben. <link>" in `language`; first names only, as every host's text."""
    slot = bookings[0].slot
    with language_override(language):
        names = ", ".join(((roster_person(b).name or "").split() or [gettext("a volunteer")])[0] for b in bookings)
        return ngettext(
            "%(site)s: %(count)s place on %(title)s (%(when)s) wasn't confirmed in time and went to the waitlist: "
            "%(names)s. %(link)s",
            "%(site)s: %(count)s places on %(title)s (%(when)s) weren't confirmed in time and went to the waitlist: "
            "%(names)s. %(link)s", len(bookings)) % {
            "site": settings.SITE_NAME, "count": len(bookings), "title": slot.session.title[:60], "when": _when(slot),
            "names": names, "link": host_session_url(slot.session_id)}


def host_released_text_record(*, bookings: list[Booking]) -> int | None:
    """Inside the releasing transaction: the host's text about these released bookings of one session (the row
    hangs on the first; its key, the booking's kind and version, makes it once). None if the host takes no texts."""
    first = bookings[0]
    host_id = first.slot.session.meeting_point.host_id
    preference = (HostSmsPreference.objects.filter(host_id=host_id, texts=True, host__is_active=True)
                  .exclude(mobile="").first())
    if preference is None:
        return None
    body = host_released_text(bookings=bookings, language=host_language(host_id=host_id))
    count = segments_count(body)
    reason = ("opted_out" if preference.sms_opted_out else "phone_invalid" if preference.phone_invalid
              else "mobile_unproven" if preference.mobile_proven_at is None else "")
    status = Status.SKIPPED if reason else Status.PENDING
    row, created = SmsMessage.objects.get_or_create(
        booking=first, kind=SmsMessage.Kind.HOST_RELEASED, version=first.version,
        defaults={"host_id": host_id, "to": preference.mobile, "body": body, "encoding": count.encoding,
                  "segments": count.segments, "status": status, "status_rank": SmsMessage.RANK[status],
                  "skip_reason": reason})
    if created and status == Status.PENDING:
        from notify.sms.services.outbox import message_enqueue

        transaction.on_commit(lambda: message_enqueue(row.pk))
    return row.pk
