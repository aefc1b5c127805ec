import secrets

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from core.languages import LANGUAGE_MAX_LENGTH, language_current
from seats.models import Seat
from sessions.models import CanvassSession, MeetingPoint, Slot

# The most places one booking can take, whatever PARTY_MAX (the setting) says: the database's check.
PARTY_SIZE_LIMIT = 20


def new_token() -> str:
    return secrets.token_urlsafe(24)


def new_manage_token() -> str:
    # 128 bits: unguessable, and short enough to leave room for the text around a link in one SMS.
    return secrets.token_urlsafe(16)


def new_challenge_token() -> str:
    return secrets.token_urlsafe(16)


class Volunteer(models.Model):
    """A person identified by their UK mobile number (E.164). No account needed."""

    phone = models.CharField(max_length=16, unique=True)
    name = models.CharField(max_length=120)
    email = models.EmailField(blank=True)
    postcode = models.CharField(max_length=8)
    lat = models.FloatField()
    lng = models.FloatField()
    seat = models.ForeignKey(Seat, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    max_travel_km = models.FloatField(null=True, blank=True, help_text="Empty: the direct-booking default.")

    # How a "send me where I'm needed" sign-up gets to a session (docs/travel.md): an assignment run puts riders who
    # need a lift into the cars of drivers near them (dispatch.services.lift_placement).
    class Travel(models.TextChoices):
        OWN = "own", _("On my own")
        DRIVER = "driver", _("I drive and can take other volunteers")
        NEEDS_LIFT = "needs_lift", _("No car: a lift would help")

    travel = models.CharField(max_length=10, choices=Travel.choices, default=Travel.OWN, db_default=Travel.OWN)
    car_seats = models.PositiveSmallIntegerField(default=0, db_default=0, help_text="Seats for other volunteers.")
    # A sign-up may be for a party (docs/parties.md): the volunteer and the others coming with them, placed by an
    # assignment run all in one slot or not at all, as one booking of that size; the others' first names, optional,
    # go on that booking. A driver's party sits in their own car: it takes that many of car_seats.
    party_size = models.PositiveSmallIntegerField(default=1, db_default=1)
    party_names = models.CharField(max_length=640, blank=True, default="", db_default="")
    consent_sms = models.BooleanField(default=False)
    # When the volunteer last agreed to texts and which wording (volunteers.consent) they were shown.
    consent_sms_at = models.DateTimeField(null=True, blank=True)
    consent_sms_version = models.CharField(max_length=20, blank=True)
    # Email is a channel of its own (notify.email): its consent, the time and wording version
    # (volunteers.consent), and when the volunteer unsubscribed through a link in an email.
    consent_email = models.BooleanField(default=False)
    consent_email_at = models.DateTimeField(null=True, blank=True)
    consent_email_version = models.CharField(max_length=20, blank=True)
    email_opted_out_at = models.DateTimeField(null=True, blank=True)
    # Campaign messages (calls to action, "come again", broadcasts: notify.consent) need a consent of their own,
    # never ticked by default, given with a proven phone and withdrawn by STOP, by any unsubscribe, or by the
    # link every campaign message carries. Every grant and withdrawal is in the ledger (ConsentRecord).
    consent_campaign = models.BooleanField(default=False)
    consent_campaign_at = models.DateTimeField(null=True, blank=True)
    consent_campaign_version = models.CharField(max_length=20, blank=True)
    # Set the first time the holder of the number proved it (a code typed, or a texted link opened).
    phone_verified_at = models.DateTimeField(null=True, blank=True)
    sms_opted_out = models.BooleanField(default=False)
    phone_invalid = models.BooleanField(default=False)
    token = models.CharField(max_length=64, unique=True, default=new_token)
    # Set when the personal data was erased (on request or by the retention purge: volunteers.privacy).
    anonymised_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.CheckConstraint(condition=Q(party_size__gte=1, party_size__lte=PARTY_SIZE_LIMIT),
                                              name="volunteer_party_size_in_range")]

    def __str__(self) -> str:
        # Masked: this is what admin lists and logs show (volunteers.privacy.mask_phone).
        if self.anonymised_at is not None:
            return f"Erased volunteer #{self.pk}"
        from volunteers.privacy import mask_phone

        return f"{self.name} ({mask_phone(self.phone)})"


class AvailabilityWindow(models.Model):
    volunteer = models.ForeignKey(Volunteer, on_delete=models.CASCADE, related_name="availability")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()

    class Meta:
        ordering = ["starts_at"]
        constraints = [models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="availability_ends_after_start")]

    def __str__(self) -> str:
        return f"{self.volunteer_id}: {self.starts_at:%a %d %b %H:%M}–{self.ends_at:%H:%M}"


class Booking(models.Model):
    class Status(models.TextChoices):  # the labels show on volunteers' and hosts' pages: translated
        PENDING = "pending", _("Pending")
        CONFIRMED = "confirmed", _("Confirmed")
        WAITLISTED = "waitlisted", _("Waitlisted")
        CANCELLED = "cancelled", _("Cancelled")
        REDIRECTED = "redirected", _("Redirected")
        ATTENDED = "attended", _("Attended")
        NO_SHOW = "no_show", _("No-show")

    class Source(models.TextChoices):
        DIRECT = "direct", "Booked directly"
        ASSIGNED = "assigned", "Assignment run"
        REDIRECT = "redirect", "Overflow redirect"

    # No single-column indexes: the unique (volunteer, slot) and the (slot, status, …) indexes lead
    # with these columns, and every extra index slows the bulk inserts of an assignment commit.
    volunteer = models.ForeignKey(Volunteer, on_delete=models.CASCADE, related_name="bookings", db_index=False)
    slot = models.ForeignKey(Slot, on_delete=models.PROTECT, related_name="bookings", db_index=False)
    status = models.CharField(max_length=12, choices=Status.choices)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.DIRECT)
    class Approval(models.TextChoices):
        NOT_REQUIRED = "not_required", "Not required"
        PENDING = "pending", "Waiting for the host"
        APPROVED = "approved", "Approved by the host"
        REFUSED = "refused", "Refused by the host"

    manage_token = models.CharField(max_length=64, unique=True, default=new_manage_token)
    # Bumped on every status change: (booking, event kind, version) keys exactly-once side effects.
    version = models.PositiveIntegerField(default=1)
    redirected_to = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="redirected_from"
    )
    # Until the phone is proven (the texted code typed, or the texted link opened) the place is held but the
    # address stays hidden. A booking request's unproven place (or waitlist place) is held from held_since until
    # held_until, as long as its code works (UNPROVEN_HOLD_MINUTES; a new code extends it, never past
    # held_since + UNPROVEN_HOLD_MAX_MINUTES); after that it counts as free (volunteers.holds). Empty on bookings
    # no request made (an assignment, a move: proven).
    proven_at = models.DateTimeField(null=True, blank=True)
    held_since = models.DateTimeField(null=True, blank=True)
    held_until = models.DateTimeField(null=True, blank=True)
    # The first name typed by the request that holds this place: all that its session's host is shown until the
    # phone is proven (volunteers.selectors.session_roster). The phone's stored volunteer may be somebody else.
    said_name = models.CharField(max_length=40, blank=True)
    approval = models.CharField(max_length=12, choices=Approval.choices, default=Approval.NOT_REQUIRED)
    # A party: the places this booking takes (the booker and the others with them), all or nothing, and the others'
    # first names if the booker gave them, comma separated (volunteers.parties; personal data: shown to the host
    # only, erased with the volunteer). The database defaults cover rows written by COPY without the columns.
    party_size = models.PositiveSmallIntegerField(default=1, db_default=1)
    party_names = models.CharField(max_length=640, blank=True, default="", db_default="")
    # The language the booking was made in (core.languages): its texts and emails are in it. The database default
    # covers rows written by COPY without the column.
    language = models.CharField(max_length=LANGUAGE_MAX_LENGTH, default=language_current, db_default="en-gb")
    attendance_confirmed_at = models.DateTimeField(null=True, blank=True)
    # A place offered from the waitlist close to the start (volunteers.confirmations): held (counted) for this
    # booking until then; accepted (OK or the link) it becomes an ordinary place, lapsed it goes to the next waiter.
    # Cleared by every status change (volunteers.services._set_status).
    offer_expires_at = models.DateTimeField(null=True, blank=True)
    waitlisted_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [models.UniqueConstraint(fields=["volunteer", "slot"], name="booking_one_per_volunteer_slot"),
                       models.CheckConstraint(condition=Q(party_size__gte=1, party_size__lte=PARTY_SIZE_LIMIT),
                                              name="booking_party_size_in_range")]
        indexes = [
            models.Index(fields=["slot", "status", "waitlisted_at"], name="booking_slot_status"),
            models.Index(fields=["volunteer", "status"], name="booking_volunteer_status"),
            # The release sweep's scan: only the (few) active bookings whose phone is still unproven.
            models.Index(fields=["held_until"], name="booking_unproven_hold",
                         condition=Q(proven_at__isnull=True, status__in=["pending", "confirmed", "waitlisted"])),
            # The offer sweep's scan: only the (few) open offers.
            models.Index(fields=["offer_expires_at"], name="booking_open_offer",
                         condition=Q(offer_expires_at__isnull=False, status="confirmed")),
        ]

    def __str__(self) -> str:
        return f"{self.volunteer} → {self.slot_id} ({self.status})"


class BookingEvent(models.Model):
    """Outbox of booking changes, written in the same transaction as the change.

    Consumers that must be atomic with the change (the SMS outbox) react synchronously to the
    ``booking_event_recorded`` signal; asynchronous consumers (overflow, promotion) run from the
    ``booking_event_process`` task after commit, which a periodic sweep re-enqueues if it was lost.
    """

    class Kind(models.TextChoices):
        CONFIRMED = "booking_confirmed", "Confirmed"
        WAITLISTED = "booking_waitlisted", "Waitlisted"
        CANCELLED = "booking_cancelled", "Cancelled by volunteer"
        SESSION_CANCELLED = "session_cancelled", "Session cancelled by host"
        PROMOTED = "booking_promoted", "Promoted from waitlist"
        REDIRECTED = "booking_redirected", "Redirected to another seat"
        ATTENDANCE_CONFIRMED = "attendance_confirmed", "Attendance confirmed"
        ATTENDED = "booking_attended", "Attended (recorded by the host)"
        NO_SHOW = "booking_no_show", "No-show (recorded by the host)"
        VENUE_MOVED = "venue_moved", "Meeting point moved"
        SLOT_RESCHEDULED = "slot_rescheduled", "Slot moved to new times"
        RELEASED = "booking_released", "Released: the phone was never proven"
        APPROVED = "booking_approved", "Approved by the host"
        REFUSED = "booking_refused", "Refused by the host"
        OFFERED = "booking_offered", "Offered a place from the waitlist"
        OFFER_LAPSED = "booking_offer_lapsed", "Offer lapsed: not taken in time"
        UNCONFIRMED = "booking_unconfirmed", "Released: not confirmed by the deadline"
        PARTY_SHRUNK = "booking_party_shrunk", "Party made smaller by the booker"

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="events", db_index=False)  # see Meta
    kind = models.CharField(max_length=24, choices=Kind.choices)
    version = models.PositiveIntegerField()
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["booking", "kind", "version"], name="booking_event_once"),
        ]
        indexes = [models.Index(fields=["processed_at", "id"], name="booking_event_unprocessed")]

    def __str__(self) -> str:
        return f"{self.kind} #{self.booking_id} v{self.version}"


class PhoneChallenge(models.Model):
    """A 6-digit code texted to a phone to prove that whoever asked holds it.

    The public ``token`` names the challenge to the requester; the code only ever reaches the phone.
    What the requester said about themselves waits in ``pending_details`` and is applied to a known
    volunteer only once the code is typed; so does a new phone's email (volunteers.identity.email_said).
    """

    class Purpose(models.TextChoices):
        BOOKING = "booking", "Booking"
        SIGNUP = "signup", "Sign-up for dispatch"
        MY_BOOKINGS = "my", "My bookings"

    token = models.CharField(max_length=32, unique=True, default=new_challenge_token)
    phone = models.CharField(max_length=16)
    # Empty only for a "my bookings" code texted to a number Frontroom has no volunteer for: the answer to the
    # requester (and the text) is the same as for a known number (volunteers.devices).
    volunteer = models.ForeignKey(Volunteer, null=True, blank=True, on_delete=models.CASCADE, related_name="challenges")
    booking = models.ForeignKey(Booking, null=True, blank=True, on_delete=models.SET_NULL, related_name="challenges")
    purpose = models.CharField(max_length=8, choices=Purpose.choices)
    code_hash = models.CharField(max_length=64)
    # Bumped by each resend (a new code): (challenge, send) keys the text, exactly once.
    sends = models.PositiveSmallIntegerField(default=1)
    attempts = models.PositiveSmallIntegerField(default=0)
    max_attempts = models.PositiveSmallIntegerField()
    expires_at = models.DateTimeField()
    verified_at = models.DateTimeField(null=True, blank=True)
    pending_details = models.JSONField(default=dict, blank=True)
    # The language of the request (core.languages): its code text is in it, and a sign-up's texts after it.
    language = models.CharField(max_length=LANGUAGE_MAX_LENGTH, default=language_current, db_default="en-gb")
    # A sign-up's private link (/n/<link_token>), texted with the code: it becomes the volunteer's token once the
    # code proves the phone (volunteers.signup). Empty for a booking request.
    link_token = models.CharField(max_length=32, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["volunteer", "created_at"], name="challenge_volunteer"),
                   # Partial: booking requests, the busy path, write no entry.
                   models.Index(fields=["link_token"], name="challenge_link_token", condition=~Q(link_token=""))]

    def __str__(self) -> str:
        whose = f"volunteer {self.volunteer_id}" if self.volunteer_id is not None else "a number with no volunteer"
        return f"{self.get_purpose_display()} challenge for {whose}"


class CalendarFeed(models.Model):
    """A private iCal feed (volunteers.feeds): a host's sessions or a volunteer's bookings, one per owner.

    The URL's token is HMAC(SECRET_KEY, secret), so the database alone does not give it away; token_hash (its
    SHA-256) finds the feed. Resetting draws a new secret, and the old URL stops working."""

    class Kind(models.TextChoices):
        HOST = "host", "Host's sessions"
        VOLUNTEER = "volunteer", "Volunteer's bookings"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    host = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
                             related_name="+")
    volunteer = models.ForeignKey(Volunteer, null=True, blank=True, on_delete=models.CASCADE,
                                  related_name="calendar_feeds")
    secret = models.CharField(max_length=64)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    reset_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["host"], condition=Q(host__isnull=False), name="calendar_feed_one_per_host"),
            models.UniqueConstraint(fields=["volunteer"], condition=Q(volunteer__isnull=False),
                                    name="calendar_feed_one_per_volunteer"),
            models.CheckConstraint(
                condition=(Q(kind="host", host__isnull=False, volunteer__isnull=True)
                           | Q(kind="volunteer", volunteer__isnull=False, host__isnull=True)),
                name="calendar_feed_owner_matches_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} feed #{self.pk}"


class FrontRoomDisclosure(models.Model):
    """The ledger of metered disclosure (volunteers.disclosure): a phone (its volunteer) was shown a front room's
    exact address, host's first name and turf.

    One row per (volunteer, meeting point), not per view or per path: the meter asks how many DISTINCT rooms a
    phone was first shown in a rolling day and week, which is then a count over the phone's own few rows (index
    disclosure_volunteer_first), and a room shown again is one indexed lookup with no write (last_shown_at is
    refreshed at most daily). The unique key makes "shown once" a fact the database keeps. The first and last
    path say how it was shown (page.manage, api.booking, sms.booking_confirmed, ...). Personal data: exported
    and erased with the volunteer, purged with the retention period (volunteers.privacy)."""

    volunteer = models.ForeignKey(Volunteer, on_delete=models.CASCADE, related_name="front_rooms_shown",
                                  db_index=False)  # the unique key and the index below lead with it
    meeting_point = models.ForeignKey(MeetingPoint, on_delete=models.CASCADE, related_name="disclosures")
    first_path = models.CharField(max_length=40)
    last_path = models.CharField(max_length=40)
    first_shown_at = models.DateTimeField()
    last_shown_at = models.DateTimeField()
    # Set when a coordinator or the host let the phone through past the meter.
    released_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["volunteer", "meeting_point"], name="disclosure_once_per_room")]
        indexes = [models.Index(fields=["volunteer", "first_shown_at"], name="disclosure_volunteer_first")]

    def __str__(self) -> str:
        return f"Room {self.meeting_point_id} shown to volunteer {self.volunteer_id}"


class FrontRoomHold(models.Model):
    """A front room held back from a phone past the meter: the coordinators' alert and the host's "address held
    back", open until someone lets the phone through (released_at) for that room."""

    volunteer = models.ForeignKey(Volunteer, on_delete=models.CASCADE, related_name="front_rooms_held")
    meeting_point = models.ForeignKey(MeetingPoint, on_delete=models.CASCADE, related_name="holds")
    booking = models.ForeignKey(Booking, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    path = models.CharField(max_length=40)
    created_at = models.DateTimeField(auto_now_add=True)
    released_at = models.DateTimeField(null=True, blank=True)
    released_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["volunteer", "meeting_point"], condition=Q(released_at__isnull=True),
                                               name="front_room_hold_open_once")]
        indexes = [models.Index(fields=["created_at"], name="front_room_hold_open",
                                condition=Q(released_at__isnull=True))]

    def __str__(self) -> str:
        return f"Room {self.meeting_point_id} held from volunteer {self.volunteer_id}"


class RememberedDevice(models.Model):
    """A browser (or API client) that proved a phone with a texted code, remembered for DEVICE_REMEMBER_DAYS so
    that phone's next booking needs no second code (volunteers.devices). The device holds a random token (in a
    signed, HttpOnly cookie); only its SHA-256 is stored, so the table alone opens nothing. Tied to one volunteer
    (the phone proven): it never proves another number. Expiry is checked here, not trusted to the cookie; forgetting
    the device or erasing the volunteer deletes the row, and the cookie stops working."""

    volunteer = models.ForeignKey(Volunteer, on_delete=models.CASCADE, related_name="remembered_devices")
    token_hash = models.CharField(max_length=64, unique=True)
    # What the device said it is (cut short): enough for "an Android phone, remembered on 3 May" in an export.
    user_agent = models.CharField(max_length=120, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["expires_at"], name="remembered_device_expiry")]

    def __str__(self) -> str:
        return f"Device remembered for volunteer {self.volunteer_id}"


class ConsentRecord(models.Model):
    """The consent ledger: one row per grant or withdrawal of a consent, never changed (volunteers.consent_ledger).
    It holds no personal data but the volunteer's id: erasing the volunteer (volunteers.privacy) leaves it
    pseudonymous, the proof of what was agreed to and when, as an ICO request asks."""

    class Kind(models.TextChoices):
        SERVICE = "service", "Service messages"
        CAMPAIGN = "campaign", "Campaign messages"

    class Channel(models.TextChoices):
        SMS = "sms", "Text"
        EMAIL = "email", "Email"
        ALL = "all", "Every channel"

    class Action(models.TextChoices):
        GIVEN = "given", "Given"
        WITHDRAWN = "withdrawn", "Withdrawn"

    class How(models.TextChoices):
        FORM = "form", "A form on the site"
        API = "api", "The API"
        STOP = "stop", "A STOP reply"
        START = "start", "A START reply"
        LINK = "link", "The link in a campaign message"
        UNSUBSCRIBE = "unsubscribe", "An email's unsubscribe link"
        ERASED = "erased", "Personal data erased"

    volunteer = models.ForeignKey(Volunteer, on_delete=models.CASCADE, related_name="consent_records")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    channel = models.CharField(max_length=5, choices=Channel.choices)
    action = models.CharField(max_length=9, choices=Action.choices)
    version = models.CharField(max_length=20, blank=True, help_text="The wording shown (volunteers.consent).")
    how = models.CharField(max_length=11, choices=How.choices)
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["volunteer", "kind", "channel", "-at"], name="consent_record_latest")]

    def __str__(self) -> str:
        return f"{self.volunteer_id}: {self.kind} {self.channel} {self.action} ({self.how})"
# ---- after the knock (volunteers.aftercare, volunteers.turnout; docs/after-the-session.md) ------------------------

class Feedback(models.Model):
    """A volunteer's answers after a slot (the follow-up text's page, or a 1-5 reply): one row per booking, edited
    in place. Each answer is optional; rating is 1-5."""

    class Source(models.TextChoices):
        PAGE = "page", "Feedback page"
        SMS = "sms", "Reply to the follow-up text"

    booking = models.OneToOneField(Booking, on_delete=models.CASCADE, related_name="feedback")
    went = models.BooleanField(null=True, blank=True)
    rating = models.PositiveSmallIntegerField(null=True, blank=True)
    again = models.BooleanField(null=True, blank=True)
    comment = models.CharField(max_length=500, blank=True)
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.PAGE)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(rating__isnull=True) | Q(rating__gte=1, rating__lte=5),
                                              name="feedback_rating_1_to_5")]

    def __str__(self) -> str:
        return f"feedback #{self.booking_id} ({self.rating or '-'})"


class SessionReport(models.Model):
    """The host's report of a session once it has ended: doors knocked, conversations, a note for the organiser
    (who came is the roster's attendance). Editable until HOST_REPORT_EDIT_DAYS after the session ends."""

    session = models.OneToOneField(CanvassSession, on_delete=models.CASCADE, related_name="report")
    doors = models.PositiveIntegerField(default=0)
    conversations = models.PositiveIntegerField(default=0)
    note = models.CharField(max_length=2000, blank=True)
    filed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(conversations__lte=F("doors")) | Q(doors=0),
                                              name="session_report_conversations_within_doors")]

    def __str__(self) -> str:
        return f"report of session {self.session_id}"


class SeatTurnoutPolicy(models.Model):
    """A seat's coordinator setting: let its slots be over-booked by the expected no-show rate (volunteers.turnout).
    No row: the global default (TURNOUT_OVERBOOK_DEFAULT, off)."""

    seat = models.OneToOneField(Seat, on_delete=models.CASCADE, related_name="turnout_policy")
    overbook = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.seat_id}: overbook {'on' if self.overbook else 'off'}"
