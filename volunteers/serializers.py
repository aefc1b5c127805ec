from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from volunteers.models import Booking


class BookingCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    phone = serializers.CharField(max_length=32, help_text="UK mobile number, e.g. 07400 123456 or +447400123456.")
    postcode = serializers.CharField(max_length=10)
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    consent_sms = serializers.BooleanField(help_text="The volunteer agrees to receive texts about this booking.")


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


class BookingSerializer(serializers.ModelSerializer):
    """A volunteer's view of their booking. The address appears only once the place is confirmed."""

    volunteer_name = serializers.CharField(source="volunteer.name")
    session = serializers.SerializerMethodField()
    slot = serializers.SerializerMethodField()
    meeting_place = serializers.SerializerMethodField()
    address = serializers.SerializerMethodField()
    waitlist_position = serializers.SerializerMethodField()
    redirected_to = serializers.SerializerMethodField()

    class Meta:
        model = Booking
        fields = [
            "id", "status", "manage_token", "volunteer_name", "session", "slot", "address", "meeting_place",
            "waitlist_position", "redirected_to", "attendance_confirmed_at", "created_at",
        ]

    def _confirmed(self, booking) -> bool:
        return booking.status in (Booking.Status.CONFIRMED, Booking.Status.ATTENDED) and booking.slot.ends_at > timezone.now()

    @extend_schema_field(BookingSessionSerializer)
    def get_session(self, booking):
        return BookingSessionSerializer(booking.slot.session).data

    @extend_schema_field(BookingSlotSerializer)
    def get_slot(self, booking):
        return BookingSlotSerializer(booking.slot, context={"confirmed": self._confirmed(booking)}).data

    def get_address(self, booking) -> str | None:
        return booking.slot.session.meeting_point.address if self._confirmed(booking) else None

    @extend_schema_field(MeetingPlaceSerializer(allow_null=True))
    def get_meeting_place(self, booking):
        if not self._confirmed(booking):
            return None
        return MeetingPlaceSerializer(booking.slot.session.meeting_point).data

    def get_waitlist_position(self, booking) -> int | None:
        if booking.status != Booking.Status.WAITLISTED:
            return None
        return Booking.objects.filter(
            slot_id=booking.slot_id, status=Booking.Status.WAITLISTED, waitlisted_at__lte=booking.waitlisted_at
        ).exclude(waitlisted_at=booking.waitlisted_at, id__gt=booking.id).count()

    def get_redirected_to(self, booking) -> str | None:
        return booking.redirected_to.manage_token if booking.redirected_to_id else None
