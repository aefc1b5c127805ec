from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail

from core.errors import InvalidInput
from core.serializers import StrictSerializer, phone_field, postcode_or_district_field
from seats.geocoding import postcode_locate
from volunteers.consent import (
    CONSENT_CAMPAIGN_TEXT,
    CONSENT_CAMPAIGN_VERSION,
    CONSENT_EMAIL_TEXT,
    CONSENT_EMAIL_VERSION,
    CONSENT_SMS_TEXT,
    CONSENT_SMS_VERSION,
)
from volunteers.disclosure import FrontRoomShown, front_room_disclose
from volunteers.identity import phone_mask
from volunteers.models import PARTY_SIZE_LIMIT, Booking
from volunteers.parties import NAME_MAX_LENGTH, party_names_clean, party_names_list, party_size_clean
from volunteers.phones import phone_normalise
from volunteers.selectors import booking_clash, booking_waitlist_position, roster_person

_CONSENT_HELP = (f"The volunteer agrees to texts about their bookings, worded (version {CONSENT_SMS_VERSION}): "
                 f"\"{CONSENT_SMS_TEXT}\" The code and link a request asks for are texted either way.")
CAMPAIGN_HELP = (f"The volunteer also agrees to campaign messages (calls to action, \"come again\"), worded "
                 f"(version {CONSENT_CAMPAIGN_VERSION}): \"{CONSENT_CAMPAIGN_TEXT}\" Never true unless the volunteer "
                 "ticked it; it counts once the phone is proven (docs/consent.md).")
_CONSENT_EMAIL_HELP = (f"The volunteer agrees to emails about their bookings at `email`, worded (version "
                       f"{CONSENT_EMAIL_VERSION}): \"{CONSENT_EMAIL_TEXT}\" Ignored without an email. Emails go only "
                       "once the phone is proven.")



def party_names_field(**kwargs) -> serializers.ListField:
    """The others' first names as typed: none with a comma (they are stored comma separated), at most one a place."""
    child = serializers.RegexField(r"^[^,]*$", allow_blank=True, max_length=NAME_MAX_LENGTH)
    return serializers.ListField(child=child, required=False, default=list, max_length=PARTY_SIZE_LIMIT, **kwargs)

class BookingCreateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=120)
    phone = phone_field(help_text="UK mobile number, e.g. 07400 123456 or +447400123456.")
    postcode = postcode_or_district_field()
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    consent_sms = serializers.BooleanField(help_text=_CONSENT_HELP)
    consent_email = serializers.BooleanField(required=False, default=False, help_text=_CONSENT_EMAIL_HELP)
    consent_campaign = serializers.BooleanField(required=False, default=False, help_text=CAMPAIGN_HELP)
    party_size = serializers.IntegerField(
        required=False, default=1, min_value=1, max_value=PARTY_SIZE_LIMIT,
        help_text=f"How many places: the booker and the others coming with them (1 = alone; at most PARTY_MAX, "
        f"{settings.PARTY_MAX} by default). All or nothing: a party that does not fit waits together on the "
        "waitlist, or, in a set of several slots, is refused (409 slot_full).")
    party_names = party_names_field(
        help_text="Optional first names of the others (at most party_size - 1), shown to the host only.")

    # The services' own checks, field by field, so one answer names every bad field (with a missing name too).
    def validate_phone(self, value: str) -> str:
        try:
            phone_normalise(value)
        except InvalidInput as exc:
            raise serializers.ValidationError(exc.fields["phone"], code=exc.code) from None
        return value

    def validate(self, attrs):
        try:
            attrs["party_size"] = party_size_clean(attrs.get("party_size", 1))
            attrs["party_names"] = party_names_clean(attrs.get("party_names") or "", party_size=attrs["party_size"])
        except InvalidInput as exc:
            raise serializers.ValidationError(exc.fields, code=exc.code) from None
        return attrs

    def to_internal_value(self, data):
        # Locating the postcode is a read the service repeats (identity.contact_validate), so it is done here only
        # when another field is already wrong. Done on every request, it put bench/request_cpu.py's booking request
        # at 115% of d838a8f's CPU (median of 4 pairs); done like this, 104% (BENCHMARKS.md, issue 20).
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError as exc:
            errors = dict(exc.detail)
            postcode = data.get("postcode") if hasattr(data, "get") else None
            if "postcode" not in errors and isinstance(postcode, str) and postcode.strip():
                try:
                    postcode_locate(postcode)
                except InvalidInput as problem:
                    errors["postcode"] = [ErrorDetail(message, code=problem.code)
                                          for message in problem.fields["postcode"]]
            raise serializers.ValidationError(errors) from None


class BookingsCreateSerializer(BookingCreateSerializer):
    slot_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1), min_length=1, max_length=12,
        help_text="The slots to book together, all or nothing (at most 12; repeats count once). A full slot in a "
        "set of several is refused (409 slot_full naming it), never waitlisted; overlapping slots are 400 "
        "slots_overlap.")


class PhoneSerializer(StrictSerializer):
    phone = phone_field(help_text="UK mobile number, e.g. 07400 123456 or +447400123456.")


class ChallengeSerializer(serializers.Serializer):
    """A code was texted to the phone (whatever the phone: the answer never says whether it is known)."""

    challenge = serializers.CharField(source="token", help_text="Public token of this code request: send it back "
                                      "with the code to POST /api/challenges/{token}/verify/.")
    phone = serializers.SerializerMethodField(help_text="The number texted, masked, e.g. 07*** ***456.")
    expires_at = serializers.DateTimeField(help_text="The code works until then.")

    def get_phone(self, challenge) -> str:
        return phone_mask(challenge.phone)


class ChallengeVerifySerializer(StrictSerializer):
    code = serializers.RegexField(r"^[0-9]{6}$", max_length=12, help_text="The 6-digit code from the text.")


class BookingDetailsSerializer(StrictSerializer):
    name = serializers.CharField(max_length=120, required=False)
    email = serializers.EmailField(required=False, allow_blank=True)
    postcode = postcode_or_district_field(required=False)
    consent_sms = serializers.BooleanField(required=False, help_text=_CONSENT_HELP)
    consent_email = serializers.BooleanField(required=False, help_text=_CONSENT_EMAIL_HELP)


class BookingSwapSerializer(StrictSerializer):
    slot = serializers.IntegerField(min_value=1, help_text="The slot to move to: another upcoming slot of this session, or one nearby (the move page's choices).")
    waitlist = serializers.BooleanField(
        required=False, default=False,
        help_text="If the slot is full, take a waitlist place there (giving up the current booking). Without it a "
        "full slot answers 409 slot_full and nothing changes.")


class AvailabilityWindowSerializer(StrictSerializer):
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()


class VolunteerRegisteredSerializer(serializers.Serializer):
    """A sign-up for dispatch, once the phone is proven."""

    token = serializers.CharField(help_text="Private: the volunteer's key to their sign-up (/api/volunteers/{token}/, "
                                  "its suggestions, and the page /n/{token} texted with the code). Keep it secret.")
    name = serializers.CharField()
    phone = serializers.CharField()
    postcode = serializers.CharField()
    max_travel_km = serializers.FloatField(allow_null=True)
    travel = serializers.CharField(help_text="own, driver or needs_lift")
    car_seats = serializers.IntegerField()
    party_size = serializers.IntegerField(help_text="The places a run gives this sign-up, all in one slot: the "
                                          "volunteer and the others coming with them (1 = alone).")
    party_names = serializers.ListField(child=serializers.CharField(), help_text="The others' first names, if given.")
    availability = AvailabilityWindowSerializer(many=True)


def volunteer_registered_data(volunteer) -> dict:
    return VolunteerRegisteredSerializer({
        "token": volunteer.token, "name": volunteer.name, "phone": volunteer.phone, "postcode": volunteer.postcode,
        "max_travel_km": volunteer.max_travel_km, "travel": volunteer.travel, "car_seats": volunteer.car_seats,
        "party_size": volunteer.party_size,
        "party_names": [name for name in (volunteer.party_names or "").split(", ") if name],
        "availability": list(volunteer.availability.order_by("starts_at").values("starts_at", "ends_at")),
    }).data


_DATETIME_FIELD = serializers.DateTimeField()


def _datetime(value) -> str | None:
    return None if value is None else _DATETIME_FIELD.to_representation(value)


class BookingSessionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    what_to_bring = serializers.CharField()
    seat = serializers.CharField(source="seat.name")
    postcode_district = serializers.CharField()


class BookingSlotSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    turf = serializers.SerializerMethodField()

    def get_turf(self, slot) -> str | None:
        return slot.turf if self.context.get("confirmed") else None


class MeetingPlaceSerializer(serializers.Serializer):
    name = serializers.CharField()
    address = serializers.CharField()
    postcode = serializers.CharField()
    host_first_name = serializers.CharField()
    accessibility_notes = serializers.CharField()


class BookingClashSerializer(serializers.Serializer):
    title = serializers.CharField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    manage_token = serializers.CharField(help_text="The other booking's private link token.")


class BookingSerializer(serializers.Serializer):
    """A volunteer's view of their booking, through its private link. The exact address, meeting place, host's
    first name and turf appear only when volunteers.disclosure.front_room_disclose allows: a confirmed place, the
    phone proven, the host's approval if the session asks for it, the slot not over, and the phone within its
    allowance of front rooms. Until then: district, time, what to bring."""

    # A plain Serializer with the model's fields spelt out: a ModelSerializer rebuilds its fields from
    # the model on every instance, which every booking request would pay for.
    id = serializers.IntegerField(read_only=True)
    status = serializers.ChoiceField(choices=Booking.Status.choices, read_only=True)
    approval = serializers.ChoiceField(choices=Booking.Approval.choices, read_only=True)
    proven = serializers.SerializerMethodField(help_text="The phone has been proven (code typed or link opened).")
    party_size = serializers.IntegerField(read_only=True, help_text="The places this booking takes (1 = alone).")
    party_names = serializers.ListField(child=serializers.CharField(), read_only=True,
                                        help_text="The first names given for the others coming (may be empty).")
    manage_token = serializers.CharField(read_only=True)
    volunteer_name = serializers.CharField(source="volunteer.name", read_only=True)
    session = serializers.SerializerMethodField()
    slot = serializers.SerializerMethodField()
    address = serializers.SerializerMethodField()
    address_held = serializers.SerializerMethodField(
        help_text="The place is confirmed but this phone has been shown its limit of front rooms for now "
        "(docs/privacy.md, metered disclosure): an organiser will check and send the address.")
    meeting_place = serializers.SerializerMethodField()
    waitlist_position = serializers.SerializerMethodField()
    redirected_to = serializers.SerializerMethodField()
    attendance_confirmed_at = serializers.DateTimeField(read_only=True, allow_null=True)
    created_at = serializers.DateTimeField(read_only=True)
    clash = serializers.SerializerMethodField(
        help_text="Once the phone is proven: another of its confirmed places at an overlapping time (keep one, "
                  "cancel the other through its link); null otherwise.")

    def to_representation(self, booking) -> dict:
        # Built directly: DRF would deep-copy every declared field, and the nested serializers' fields,
        # for each booking, and this answers every booking request. The declared fields document the
        # shape (OpenAPI); tests check that this returns exactly what they would.
        room = self._room(booking)
        return {
            "id": booking.id, "status": booking.status, "approval": booking.approval,
            "proven": booking.proven_at is not None, "party_size": booking.party_size,
            "party_names": party_names_list(booking), "manage_token": booking.manage_token,
            "volunteer_name": booking.volunteer.name,
            "session": self.get_session(booking),
            "slot": self._slot(booking, room),
            "address": room.address if room.shown else None,
            "address_held": room.held,
            "meeting_place": self._meeting_place(room),
            "waitlist_position": self.get_waitlist_position(booking),
            "redirected_to": self.get_redirected_to(booking),
            "attendance_confirmed_at": _datetime(booking.attendance_confirmed_at),
            "created_at": _datetime(booking.created_at),
            "clash": self.get_clash(booking),
        }

    @extend_schema_field(BookingClashSerializer(allow_null=True))
    def get_clash(self, booking) -> dict | None:
        if self.context.get("automatic"):
            return None
        other = booking_clash(booking=booking)
        if other is None:
            return None
        return {"title": other.slot.session.title, "starts_at": _datetime(other.slot.starts_at),
                "ends_at": _datetime(other.slot.ends_at), "manage_token": other.manage_token}

    def _room(self, booking) -> FrontRoomShown:
        # Metered (volunteers.disclosure). context["automatic"]: a link preview or scanner opened the link
        # (volunteers.links): never the address.
        return front_room_disclose(booking=booking, path="api.booking", automatic=bool(self.context.get("automatic")))

    def get_proven(self, booking) -> bool:
        return booking.proven_at is not None

    @extend_schema_field(BookingSessionSerializer)
    def get_session(self, booking) -> dict:
        session = booking.slot.session
        return {"id": session.id, "title": session.title, "what_to_bring": session.what_to_bring,
                "seat": session.seat.name, "postcode_district": session.postcode_district}

    @extend_schema_field(BookingSlotSerializer)
    def get_slot(self, booking) -> dict:
        return self._slot(booking, self._room(booking))

    def _slot(self, booking, room: FrontRoomShown) -> dict:
        slot = booking.slot
        return {"id": slot.id, "starts_at": _datetime(slot.starts_at), "ends_at": _datetime(slot.ends_at),
                "turf": room.turf if room.shown else None}

    def get_address(self, booking) -> str | None:
        room = self._room(booking)
        return room.address if room.shown else None

    def get_address_held(self, booking) -> bool:
        return self._room(booking).held

    @extend_schema_field(MeetingPlaceSerializer(allow_null=True))
    def get_meeting_place(self, booking) -> dict | None:
        return self._meeting_place(self._room(booking))

    def _meeting_place(self, room: FrontRoomShown) -> dict | None:
        if not room.shown:
            return None
        return {"name": room.place_name, "address": room.address, "postcode": room.postcode,
                "host_first_name": room.host_first_name, "accessibility_notes": room.accessibility_notes}

    def get_waitlist_position(self, booking) -> int | None:
        return booking_waitlist_position(booking=booking)

    def get_redirected_to(self, booking) -> str | None:
        return booking.redirected_to.manage_token if booking.redirected_to_id else None


class RosterVolunteerSerializer(serializers.Serializer):
    """volunteers.selectors.roster_person: until the phone is proven, only the first name its request typed."""

    name = serializers.CharField(help_text="Until the phone is proven: only the first name typed in the request.")
    phone = serializers.CharField(
        help_text="E.164, to reach the volunteer on the day (empty until the phone is proven, and once erased).")
    email = serializers.CharField(help_text="Empty until the phone is proven.")


class RosterSlotSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()


class RosterBookingSerializer(serializers.Serializer):
    """A booking as the session's host sees it: who, which slot, whether they are coming, whether the phone
    is proven (unproven places are released after a while) and the host's approval."""

    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=Booking.Status.choices)
    proven = serializers.SerializerMethodField(help_text="The volunteer proved their phone.")
    approval = serializers.ChoiceField(choices=Booking.Approval.choices)
    source = serializers.ChoiceField(choices=Booking.Source.choices)
    party_size = serializers.IntegerField(help_text="The places this booking takes: the volunteer and the others "
                                          "coming with them.")
    party_names = serializers.SerializerMethodField(help_text="First names the booker gave for the others.")
    slot = RosterSlotSerializer()
    volunteer = serializers.SerializerMethodField()
    attendance_confirmed_at = serializers.DateTimeField(
        allow_null=True, help_text="When the volunteer replied OK to say they are coming.")
    waitlisted_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()

    def get_proven(self, booking) -> bool:
        return booking.proven_at is not None

    def get_party_names(self, booking) -> list[str]:
        return party_names_list(booking)

    @extend_schema_field(RosterVolunteerSerializer)
    def get_volunteer(self, booking) -> dict:
        person = roster_person(booking)
        return {"name": person.name, "phone": person.phone, "email": person.email}


class AttendanceSerializer(StrictSerializer):
    attended = serializers.BooleanField(help_text="true: the volunteer came; false: a no-show.")


class PhoneBookingsSerializer(serializers.Serializer):
    """The bookings of a proven phone: what a "my bookings" code, a code for several slots, or a remembered
    device's token opens."""

    phone = serializers.CharField(help_text="The phone, masked, e.g. 07*** ***456.")
    device_token = serializers.CharField(
        required=False, allow_null=True,
        help_text="Only in the answer to a right code: a secret that proves this phone from this client for "
        "DEVICE_REMEMBER_DAYS. Send it as the X-Device-Token header to GET /api/my/bookings/ or to book without "
        "a code; POST /api/my/forget/ revokes it. Null when the number has no bookings (nothing to remember).")
    upcoming = BookingSerializer(many=True, help_text="Bookings still to come, by start.")
    past = BookingSerializer(many=True, help_text="Bookings over, newest first.")
