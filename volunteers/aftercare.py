"""After the knock: a volunteer's feedback on a slot, self check-in with the code the host shows, and the host's
report of the session (docs/after-the-session.md). Who came is the roster's attendance (Booking.status ATTENDED or
NO_SHOW, volunteers.services.booking_attendance_record); a self check-in records the same."""

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext

from core.errors import InvalidInput, InvalidState, NotFound
from core.ratelimit import rate_limit
from sessions.models import CanvassSession, Slot
from sessions.selectors import session_managed
from volunteers.events import booking_event_record
from volunteers.models import Booking, BookingEvent, Feedback, SessionReport
from volunteers.services import booking_status_set

# Bookings that may be asked how it went: the volunteer held a place when the slot ran.
FOLLOWED_UP = (Booking.Status.CONFIRMED, Booking.Status.ATTENDED, Booking.Status.NO_SHOW)
COMMENT_MAX = 500
NOTE_MAX = 2000
# Sane caps for one session's report: a street of terraces is ~100 doors an hour a pair; nobody knocks 5,000.
DOORS_MAX = 5000
CHECK_IN_CODE_DIGITS = 4


def _booking_by_token(manage_token: str) -> Booking:
    booking = (Booking.objects.select_related("slot__session__seat", "volunteer")
               .filter(manage_token=manage_token).first() if manage_token else None)
    if booking is None:
        raise NotFound(gettext("No such booking."), code="not_found")
    return booking


# ---- feedback ------------------------------------------------------------------------------------------------

def feedback_open(booking: Booking, *, now: datetime | None = None) -> bool:
    """Whether `booking` may be given feedback now: proven, held when the slot ran, slot ended, not too long ago."""
    now = now or timezone.now()
    slot = booking.slot
    return (booking.proven_at is not None and booking.status in FOLLOWED_UP
            and slot.ends_at <= now < slot.ends_at + timedelta(days=settings.FEEDBACK_DAYS))


def _feedback_fields(*, went, rating, again, comment) -> dict:
    errors = {}
    if rating is not None and (not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 5):
        errors["rating"] = [gettext("Choose a number from 1 to 5.")]
    for name, value in (("went", went), ("again", again)):
        if value is not None and not isinstance(value, bool):
            errors[name] = [gettext("Choose yes or no.")]
    comment = (comment or "").strip()
    if len(comment) > COMMENT_MAX:
        errors["comment"] = [gettext("At most %(max)s characters.") % {"max": COMMENT_MAX}]
    if errors:
        raise InvalidInput(gettext("Please check your answers."), code="invalid_feedback", fields=errors)
    return {"went": went, "rating": rating, "again": again, "comment": comment}


@transaction.atomic
def feedback_record(*, booking_id: int, went: bool | None = None, rating: int | None = None,
                    again: bool | None = None, comment: str = "", source: str = Feedback.Source.PAGE,
                    keep_others: bool = False, now: datetime | None = None) -> Feedback:
    """Save a volunteer's answers about a slot (one Feedback per booking, the latest answers win; `keep_others`:
    only change the answers given, as an SMS rating does). "Went: yes" records that they confirm they came
    (attendance_confirmed_at, and an attendance_confirmed event once per booking version). InvalidState when the
    booking cannot be followed up (not proven, never held, slot not over, too long ago); InvalidInput naming the
    field for a bad answer. Idempotent: the same answers again change nothing."""
    fields = _feedback_fields(went=went, rating=rating, again=again, comment=comment)
    booking = (Booking.objects.select_for_update(of=("self",)).select_related("slot").filter(pk=booking_id).first())
    if booking is None:
        raise NotFound(gettext("No such booking."), code="not_found")
    if not feedback_open(booking, now=now):
        raise InvalidState(gettext("This session cannot be given feedback now."), code="feedback_closed")
    if keep_others:
        fields = {key: value for key, value in fields.items() if value not in (None, "")}
    feedback, _ = Feedback.objects.get_or_create(booking=booking, defaults={**fields, "source": source})
    changed = [key for key, value in fields.items() if getattr(feedback, key) != value]
    if changed:
        for key in changed:
            setattr(feedback, key, fields[key])
        feedback.source = source
        feedback.save(update_fields=[*changed, "source", "updated_at"])
    if fields.get("went") is True and booking.attendance_confirmed_at is None:
        booking.attendance_confirmed_at = now or timezone.now()
        booking.save(update_fields=["attendance_confirmed_at", "updated_at"])
        if not BookingEvent.objects.filter(booking=booking, kind=BookingEvent.Kind.ATTENDANCE_CONFIRMED,
                                           version=booking.version).exists():
            booking_event_record(booking=booking, kind=BookingEvent.Kind.ATTENDANCE_CONFIRMED,
                                 payload={"by": "feedback"})
    return feedback


def feedback_for_token(*, manage_token: str) -> tuple[Booking, Feedback | None]:
    """The booking behind a private link and its feedback so far (None before any). NotFound for an unknown link."""
    booking = _booking_by_token(manage_token)
    return booking, Feedback.objects.filter(booking=booking).first()


# ---- self check-in -------------------------------------------------------------------------------------------

def check_in_code(slot: Slot) -> str:
    """The slot's check-in code, shown on its host's page: digits from a keyed hash of the slot and its local day,
    so it needs no storage, differs per slot and day, and cannot be worked out without SECRET_KEY."""
    day = timezone.localtime(slot.starts_at).date().isoformat()
    digest = hmac.new(settings.SECRET_KEY.encode(), f"check-in:{slot.pk}:{day}".encode(), hashlib.sha256).digest()
    return str(int.from_bytes(digest[:8], "big") % 10 ** CHECK_IN_CODE_DIGITS).zfill(CHECK_IN_CODE_DIGITS)


def check_in_window(slot: Slot) -> tuple[datetime, datetime]:
    return slot.starts_at - timedelta(minutes=settings.CHECK_IN_EARLY_MINUTES), slot.ends_at


def check_in_open(booking: Booking, *, now: datetime | None = None) -> bool:
    """Whether the volunteer of `booking` may check themselves in now: a proven, confirmed place (approved where
    the host approves), within the slot's check-in window."""
    now = now or timezone.now()
    start, end = check_in_window(booking.slot)
    return (booking.proven_at is not None and booking.status in (Booking.Status.CONFIRMED, Booking.Status.ATTENDED)
            and booking.approval not in (Booking.Approval.PENDING, Booking.Approval.REFUSED) and start <= now <= end)


@transaction.atomic
def booking_check_in(*, manage_token: str, code: str, now: datetime | None = None) -> Booking:
    """A volunteer checks themselves in with the code their host shows: the booking becomes attended (the event the
    host's marking records, with self_check_in in its payload). Each try counts against the booking's limit
    (check_in_booking) before the code is compared, so the code cannot be guessed by trying; a wrong code is
    InvalidInput on the code field, outside the window InvalidState. Idempotent once checked in."""
    booking = _booking_by_token(manage_token)
    if not check_in_open(booking, now=now):
        raise InvalidState(gettext("Checking in is open from shortly before your slot until it ends."),
                           code="check_in_closed")
    rate_limit(scope="check_in_booking", key=str(booking.pk),
               message=gettext("Too many tries. Ask your host to mark you as arrived."))
    typed = "".join(ch for ch in (code or "") if ch.isdigit())
    if not hmac.compare_digest(typed.encode(), check_in_code(booking.slot).encode()):
        raise InvalidInput(gettext("That is not the code for this session."), code="wrong_code",
                           fields={"code": [gettext("Check the code your host shows and try again.")]})
    booking = Booking.objects.select_for_update(of=("self",)).select_related("slot").get(pk=booking.pk)
    if booking.status == Booking.Status.CONFIRMED:
        booking_status_set(booking=booking, status=Booking.Status.ATTENDED)
        booking_event_record(booking=booking, kind=BookingEvent.Kind.ATTENDED, payload={"self_check_in": True})
    return booking


# ---- the host's report ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ReportWindow:
    opens: datetime
    closes: datetime

    def open(self, now: datetime) -> bool:
        return self.opens <= now < self.closes


def report_window(session: CanvassSession) -> ReportWindow:
    """A session's report is filed once it has started and edited until HOST_REPORT_EDIT_DAYS after it ends."""
    return ReportWindow(opens=session.starts_at, closes=session.ends_at + timedelta(days=settings.HOST_REPORT_EDIT_DAYS))


def _report_fields(*, doors, conversations, note) -> dict:
    errors = {}
    for name, value in (("doors", doors), ("conversations", conversations)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            errors[name] = [gettext("A whole number, 0 or more.")]
        elif value > DOORS_MAX:
            errors[name] = [gettext("At most %(max)s.") % {"max": DOORS_MAX}]
    if not errors and conversations > doors:
        errors["conversations"] = [gettext("No more conversations than doors knocked.")]
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        errors["note"] = [gettext("At most %(max)s characters.") % {"max": NOTE_MAX}]
    if errors:
        raise InvalidInput(gettext("Please check the report."), code="invalid_report", fields=errors)
    return {"doors": doors, "conversations": conversations, "note": note}


@transaction.atomic
def session_report_save(*, session: CanvassSession, user, doors: int, conversations: int, note: str = "",
                        now: datetime | None = None) -> SessionReport:
    """File or correct the report of a session its host (or a coordinator) manages, while its window is open
    (report_window): InvalidState before the session starts or after the limit; InvalidInput naming the field
    for a bad number. The caller has checked who may (session_report_for_user, or a valid report link)."""
    fields = _report_fields(doors=doors, conversations=conversations, note=note)
    if not report_window(session).open(now or timezone.now()):
        raise InvalidState(gettext("This report can no longer be changed."), code="report_closed")
    report, created = SessionReport.objects.select_for_update().get_or_create(
        session=session, defaults={**fields, "filed_by": user})
    if not created:
        for key, value in fields.items():
            setattr(report, key, value)
        report.filed_by = user
        report.save()
    return report


def session_report_for_user(*, user, session_id: int) -> tuple[CanvassSession, SessionReport | None]:
    """The session (NotFound unless `user` manages it) and its report so far."""
    session = session_managed(user=user, session_id=session_id)
    return session, SessionReport.objects.filter(session=session).first()


_REPORT_SALT = "frontroom.session-report"


def report_link_token(session: CanvassSession) -> str:
    """The private token of a session's report link (emailed to its host): signed with SECRET_KEY, so it cannot be
    guessed or altered; it names the session and its host, and stops working if the room changes hands."""
    return signing.dumps({"s": session.pk, "h": session.meeting_point.host_id}, salt=_REPORT_SALT, compress=True)


def session_for_report_token(token: str) -> CanvassSession:
    """The session a report link is for; NotFound for anything else (a forged, altered or stale token)."""
    try:
        data = signing.loads(token or "", salt=_REPORT_SALT)
        session = CanvassSession.objects.select_related("meeting_point").get(pk=int(data["s"]))
    except (signing.BadSignature, CanvassSession.DoesNotExist, KeyError, TypeError, ValueError):
        raise NotFound(gettext("No such report."), code="not_found") from None
    if session.meeting_point.host_id != data.get("h"):
        raise NotFound(gettext("No such report."), code="not_found")
    return session


def next_slots_nearby(*, booking: Booking, limit: int = 3, now: datetime | None = None) -> list[Slot]:
    """The next few bookable slots in the booking's seat or a bordering one, soonest first, with places left, that
    the volunteer has not booked: offered on the feedback page to a volunteer who came."""
    from seats.models import Seat, SeatAdjacency

    seat_id = booking.slot.session.seat_id
    seats = {seat_id, *SeatAdjacency.objects.filter(from_seat_id=seat_id, to_seat__in=Seat.objects.current())
             .values_list("to_seat_id", flat=True)}
    return list(Slot.objects.filter(starts_at__gt=now or timezone.now(), session__seat_id__in=seats,
                                    session__status=CanvassSession.Status.PUBLISHED,
                                    confirmed_count__lt=F("capacity") + F("overbook"))
                .exclude(bookings__volunteer_id=booking.volunteer_id)
                .select_related("session__seat").order_by("starts_at", "pk")[:limit])
