"""Texts to hosts: one for each booking and cancellation on their sessions, when they chose it on
/host/notifications/ (HostSmsPreference, with their own mobile), through the volunteers' outbox.

- What a host is told of is notify.audience' rule, the one their emails follow: a place taken by a proven
  phone (an unproven booking waits for its proof, the booking_proven signal) or given back; never their own acts.
- The row is written with the change (or the proof), once per (booking, kind, version): the outbox's unique key.
  The text names the volunteer by first name only (never their number) and links to the session's host page.
- Nothing goes to a mobile its holder has not proven (notify.sms.services.host_mobile: the code texted to it,
  typed on the settings page): before that the row is written skipped (mobile_unproven).
- The send claims the row as every text's is, then checks the host still wants texts at that number (proven) and
  has not opted out (STOP from that number, or Twilio's 21610). It never goes in quiet hours: it waits until they
  end (a booking at 23:00 does not wake the host). It counts in the number's daily limit (sms_phone_day, which
  every text to the number counts in) once per row, however many attempts its send takes; past the limit the text
  is skipped (daily_limit) and the roster and emails remain.
"""

from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import F, Sum, prefetch_related_objects
from django.utils import timezone
from django.utils.translation import gettext

from core.db import any_of, copy_insert_new, get_by
from core.errors import InvalidInput, RateLimited
from core.languages import language_supported
from core.ratelimit import rate_limit_once
from notify.audience import BOOKED, CANCELLED, EVENTS, host_notice
from notify.sms.models import HostSmsPreference, SmsMessage
from notify.sms.segments import segments_count
from notify.sms.texts import host_text
from volunteers.models import Booking
from volunteers.phones import phone_normalise

Kind = SmsMessage.Kind
Status = SmsMessage.Status
# Texts that wait out quiet hours and count in the number's daily limit at their send.
HOST_KINDS = frozenset({Kind.HOST_BOOKED, Kind.HOST_CANCELLED, Kind.HOST_DIGEST, Kind.HOST_RELEASED})
KIND_BY_NOTICE = {BOOKED: Kind.HOST_BOOKED, CANCELLED: Kind.HOST_CANCELLED}
ROW_FIELDS = ("host", "booking", "kind", "version", "to", "body", "encoding", "segments", "status", "status_rank",
              "skip_reason")


# --- The host's choice --------------------------------------------------------------------------------------


def host_sms_preference_get(*, host) -> HostSmsPreference | None:
    return HostSmsPreference.objects.filter(host=host).first()


@transaction.atomic
def host_sms_preference_set(*, host, texts: bool, mobile: str, client_ip: str | None = None,
                            digest: bool = False) -> HostSmsPreference:
    """Whether the host is texted at each booking and cancellation, and the mobile (a UK mobile, normalised as
    volunteers' are). A new number starts afresh and unproven: what was learnt about the old one (STOP, invalid,
    its proof) is not carried over, and if texts are wanted it is texted a code (host_mobile_code_send, whose
    limits raise RateLimited and then nothing is saved); nothing about bookings is texted to it until the code is
    typed. Raises InvalidInput naming `mobile`: not a UK mobile, or texts asked for without one. Idempotent: saving
    the same choice again texts no second code."""
    from notify.sms.services.host_mobile import host_mobile_code_needed, host_mobile_code_send

    raw = (mobile or "").strip()
    try:
        number = phone_normalise(raw, field="mobile") if raw else ""
    except InvalidInput as exc:  # the normaliser's words are for volunteers
        raise InvalidInput(gettext("Give a UK mobile number, like 07400 123456."), code=exc.code,
                           fields=exc.fields) from None
    if (texts or digest) and not number:
        raise InvalidInput(gettext("Give the mobile to text."), fields={"mobile": [gettext("Required for texts.")]})
    preference = HostSmsPreference.objects.select_for_update().filter(host=host).first()
    if preference is None:
        preference = HostSmsPreference.objects.create(host=host, texts=texts, digest=digest, mobile=number)
    else:
        fields = {"texts": texts, "digest": digest, "mobile": number}
        if number != preference.mobile:
            fields.update(sms_opted_out=False, phone_invalid=False, mobile_proven_at=None)
        for name, value in fields.items():
            setattr(preference, name, value)
        preference.save(update_fields=[*fields, "updated_at"])
    if (texts or digest) and preference.mobile_proven_at is None and host_mobile_code_needed(host=host, number=number):
        host_mobile_code_send(host=host, number=number, opted_out=preference.sms_opted_out,
                              phone_invalid=preference.phone_invalid, client_ip=client_ip)
    return preference


def host_sms_flags_set(*, phone: str | None = None, host_id: int | None = None, opted_out: bool | None = None,
                       phone_invalid: bool | None = None) -> int:
    """Record what the SMS channel learnt about a host's number (STOP or START from it, an invalid number), found
    by the number or by the host. Idempotent; returns how many hosts' preferences changed."""
    changes = {}
    if opted_out is not None:
        changes["sms_opted_out"] = opted_out
    if phone_invalid is not None:
        changes["phone_invalid"] = phone_invalid
    if not changes or not (phone or host_id):
        return 0
    preferences = HostSmsPreference.objects.all()
    preferences = preferences.filter(mobile=phone) if phone else preferences.filter(host_id=host_id)
    return preferences.update(**changes, updated_at=timezone.now())


# --- Recording, in the booking change's transaction ---------------------------------------------------------

# The places a slot's confirmed_count counts: held, and kept once attendance is recorded either way.
PLACE_STATUSES = (Booking.Status.CONFIRMED, Booking.Status.ATTENDED, Booking.Status.NO_SHOW)
# Where the places taken go in a text rendered before the INSERT: GSM-7, so folding leaves it alone, and not
# anything our templates say (a host typing it in a title changes only their own text).
TAKEN_MARK = "§taken§"

# "x of y places taken" is the slot after the change, counted from its bookings by the INSERT itself: the event
# is recorded before the place is claimed (volunteers.services.booking._booking_confirm_then_claim claims last, to hold
# the slot's row lock briefly), and a caller's slot may have been loaded before the change (a promotion's, a
# swap's), so neither the loaded slot nor its confirmed_count at this moment says what the change left.
_RECORD_SQL = """
INSERT INTO sms_smsmessage (host_id, booking_id, kind, version, "to", body, encoding, segments, status, status_rank,
                            skip_reason, error_message, attempts, created_at, updated_at)
VALUES (%(host)s, %(booking)s, %(kind)s, %(version)s, %(to)s,
        REPLACE(%(body)s, %(mark)s, CAST((SELECT COALESCE(SUM(b.party_size), 0) FROM volunteers_booking b
                                           WHERE b.slot_id = %(slot)s
                                             AND b.status IN (%(confirmed)s, %(attended)s, %(no_show)s)) AS TEXT)),
        %(encoding)s, %(segments)s, %(status)s, %(status_rank)s, %(skip_reason)s, '', 0, %(now)s, %(now)s)
ON CONFLICT (booking_id, kind, version) DO NOTHING
RETURNING id
"""


def host_text_record(*, booking: Booking, kind: str, version: int) -> int:
    """The host's text `kind` about `booking` at `version`, in the caller's transaction, if the host wants texts
    at a mobile and is still active: written skipped at once (with the reason) if that number opted out, is invalid
    or is not proven yet (notify.sms.services.host_mobile: a text wanted before the proof is never sent); its send is
    enqueued on commit. Idempotent per key. Returns how many rows were written."""
    prefetch_related_objects([booking], "volunteer", "slot__session__meeting_point")  # loaded already, usually
    host_id = booking.slot.session.meeting_point.host_id
    # The host's choice first, by its unique host in a read whose SQL is built once (get_by): nearly always there is
    # none, or it is no texts, and then nothing more is read or rendered. Only a host who chose texts costs the
    # ORM's read of their account (still active?) and language. (The ORM's one filter().values_list().first()
    # over all three tables cost its compilation on every booking event and proof: BENCHMARKS.md "CPU per request
    # of the mix, in process".)
    preference = get_by(HostSmsPreference, "host", host_id)
    if preference is None or not preference.texts or not preference.mobile:
        return 0
    host = get_user_model().objects.filter(pk=host_id, is_active=True).values_list("host_standing__language").first()
    if host is None:
        return 0
    mobile, opted_out, invalid, proven_at = (preference.mobile, preference.sms_opted_out, preference.phone_invalid,
                                             preference.mobile_proven_at)
    (language,) = host
    body = host_text(kind=kind, booking=booking, taken=TAKEN_MARK, language=language_supported(language))
    # Counted with the capacity for the places taken: as many digits or more, so never fewer segments.
    count = segments_count(body.replace(TAKEN_MARK, str(booking.slot.capacity)))
    reason = ("opted_out" if opted_out else "phone_invalid" if invalid
              else "mobile_unproven" if proven_at is None else "")
    status = Status.SKIPPED if reason else Status.PENDING
    # bench/sql_vs_orm.py host_text_wanted: this INSERT (the places counted inside it, ON CONFLICT for the key) took
    # the ORM's count() and create() in a savepoint from 1.71x this function's CPU, 2.5 ms a booking or proof the host
    # is texted of (BENCHMARKS.md "Hand-written statements vs the ORM", "The notify statements").
    with connection.cursor() as cursor:
        cursor.execute(_RECORD_SQL, {
            "host": host_id, "booking": booking.pk, "kind": kind, "version": version, "to": mobile, "body": body,
            "mark": TAKEN_MARK, "slot": booking.slot_id, "confirmed": Booking.Status.CONFIRMED.value,
            "attended": Booking.Status.ATTENDED.value, "no_show": Booking.Status.NO_SHOW.value,
            "encoding": count.encoding, "segments": count.segments, "status": status.value,
            "status_rank": SmsMessage.RANK[status], "skip_reason": reason,
            "now": connection.ops.adapt_datetimefield_value(timezone.now()),
        })
        written = cursor.fetchall()
    _enqueue_on_commit([pk for (pk,) in written] if status == Status.PENDING else [])
    return len(written)


def host_text_record_for_event(*, event) -> int:
    """Signal receiver body: the host's text for a booking event, if it is one a host is told of."""
    if event.kind not in EVENTS:
        return 0
    booking = event.booking
    notice = host_notice(event.kind, event.payload, booking.proven_at is not None)
    if notice is None:
        return 0
    return host_text_record(booking=booking, kind=KIND_BY_NOTICE[notice], version=event.version)


def host_text_record_for_proof(*, booking: Booking) -> int:
    """Signal receiver body, in the proof's transaction (on the code check's one-statement path just after it): a
    booking request's phone is proven, so the host hears of the place it holds (a waitlist place is not news)."""
    if booking.status != Booking.Status.CONFIRMED:
        return 0
    return host_text_record(booking=booking, kind=Kind.HOST_BOOKED, version=booking.version)


def host_texts_record_for_events(*, events: list) -> int:
    """Bulk signal receiver body (an assignment commit): the hosts' texts for many events, in a few statements
    whatever their number: the hosts' choices read once, texts rendered only for hosts who want them."""
    events = [event for event in events if event.kind in EVENTS]
    if not events:
        return 0
    facts = dict((pk, (proven_at, host_id)) for pk, proven_at, host_id in Booking.objects.filter(
        any_of("pk", (event.booking_id for event in events))).values_list(
        "pk", "proven_at", "slot__session__meeting_point__host_id"))
    notices = []
    for event in events:
        proven_at, host_id = facts[event.booking_id]
        notice = host_notice(event.kind, event.payload, proven_at is not None)
        if notice:
            notices.append((event, host_id, KIND_BY_NOTICE[notice]))
    if not notices:
        return 0
    wanted = {host_id: flags for host_id, *flags in
              HostSmsPreference.objects.filter(host_id__in={host_id for _, host_id, _ in notices}, texts=True,
                                               host__is_active=True).exclude(mobile="")
              .values_list("host_id", "mobile", "sms_opted_out", "phone_invalid", "mobile_proven_at",
                           "host__host_standing__language")}
    notices = [notice for notice in notices if notice[1] in wanted]
    if not notices:
        return 0
    bookings = Booking.objects.select_related("volunteer", "slot__session").in_bulk(
        {event.booking_id for event, _, _ in notices})
    # The places taken once the change is made, from the bookings (see _RECORD_SQL): an assignment commit records
    # its events before it adds its places to the slots' counts.
    taken = dict(Booking.objects.filter(slot_id__in={booking.slot_id for booking in bookings.values()},
                                        status__in=PLACE_STATUSES)
                 .values("slot_id").annotate(n=Sum("party_size")).values_list("slot_id", "n"))
    rows = []
    for event, host_id, kind in notices:
        mobile, opted_out, invalid, proven_at, language = wanted[host_id]
        booking = bookings[event.booking_id]
        body = host_text(kind=kind, booking=booking, taken=taken.get(booking.slot_id, 0),
                         language=language_supported(language))
        count = segments_count(body)
        reason = ("opted_out" if opted_out else "phone_invalid" if invalid
                  else "mobile_unproven" if proven_at is None else "")
        status = Status.SKIPPED if reason else Status.PENDING
        rows.append((host_id, event.booking_id, kind, event.version, mobile, body, count.encoding, count.segments,
                     status, SmsMessage.RANK[status], reason))
    inserted = copy_insert_new(SmsMessage, ROW_FIELDS, rows, unique_fields=("booking", "kind", "version"),
                               returning=("id", "status"))
    _enqueue_on_commit([pk for pk, status in inserted if status == Status.PENDING])
    return len(inserted)


def _enqueue_on_commit(ids: list[int]) -> None:
    if not ids:
        return
    from notify.sms.services.outbox import messages_enqueue_batches

    transaction.on_commit(lambda: messages_enqueue_batches(ids))


# --- Sending ------------------------------------------------------------------------------------------------


def host_skip_reason(*, host_id: int, to: str, code: bool = False, digest: bool = False) -> str:
    """Why the host's text claimed now must not go ("" if it may): the host left, turned texts (or for a `digest`,
    the digest) off or changed their mobile since it was written, the number opted out or is invalid, or (but for
    a `code` text, which is what proves it) the mobile is not proven."""
    row = (HostSmsPreference.objects.filter(host_id=host_id)
           .values_list("texts", "digest", "mobile", "sms_opted_out", "phone_invalid", "host__is_active",
                        "mobile_proven_at")
           .first())
    if row is None:
        return "host_preference"
    texts, wants_digest, mobile, opted_out, invalid, active, proven_at = row
    if not active:
        return "host_inactive"
    if mobile != to or not (code or (wants_digest if digest else texts)):
        return "host_preference"
    if opted_out:
        return "opted_out"
    if invalid:
        return "phone_invalid"
    if proven_at is None and not code:
        return "mobile_unproven"
    return ""


def host_text_allowed_today(to: str, *, message_id: int) -> bool:
    """Count the text in the number's daily limit (sms_phone_day, shared with every text to the number), once per
    outbox row: a send retried after a transient error (or taken over from a dead worker) is the same text, and
    gets the first attempt's answer without counting again."""
    try:
        rate_limit_once(scope="sms_phone_day", key=to, hit=f"sms:{message_id}")
    except RateLimited:
        return False
    return True


def host_text_defer(*, message_id: int, until: datetime) -> bool:
    """Put a claimed host text back, due at `until` (the end of quiet hours), giving back the attempt its claim
    counted; the outbox sweep hands it to a worker then (no countdown that long waits in the broker)."""
    return bool(SmsMessage.objects.filter(pk=message_id, status=Status.SENDING).update(
        status=Status.PENDING, status_rank=SmsMessage.RANK[Status.PENDING], next_attempt_at=until,
        attempts=F("attempts") - 1, updated_at=timezone.now()))
