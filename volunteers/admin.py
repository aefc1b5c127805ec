import json

from django.contrib import admin, messages
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse

from core.admin import ReadOnlyInline
from core.errors import DomainError
from core.exports import export_response
from sessions.admin import SlotAdmin
from sessions.models import Slot
from volunteers import exports, privacy
from volunteers.models import (
    AvailabilityWindow,
    Booking,
    BookingEvent,
    CalendarFeed,
    ConsentRecord,
    Feedback,
    FrontRoomDisclosure,
    FrontRoomHold,
    PhoneChallenge,
    RememberedDevice,
    SeatTurnoutPolicy,
    SessionReport,
    Volunteer,
)
from volunteers.services import booking_attendance_record, booking_cancel, bookings_delete, volunteer_delete


class ViewingIsAudited:
    """For a ModelAdmin whose change page shows a volunteer's personal data: opening it (a GET) goes in the audit log
    as `audit_where`, with the row's id under `audit_key`. `audited_volunteer` is the field (or expression) that
    holds the volunteer's id; a row without a volunteer (a text to a host) has nothing to audit."""

    audited_volunteer = "volunteer_id"
    audit_where: str
    audit_key: str

    def change_view(self, request, object_id, form_url="", extra_context=None):
        volunteer_id = self.model.objects.filter(pk=object_id).values_list(self.audited_volunteer, flat=True) \
            .first() if str(object_id).isdigit() else None
        if request.method == "GET" and volunteer_id is not None:
            privacy.personal_data_accessed_record(actor=request.user, action=privacy.Access.VIEWED,
                                                  volunteer_ids=[volunteer_id], where=self.audit_where,
                                                  **{self.audit_key: int(object_id)})
        return super().change_view(request, object_id, form_url, extra_context)


class BookingInline(ReadOnlyInline):
    model = Booking
    fields = ["slot", "status", "source", "created_at"]
    show_change_link = True


class AvailabilityInline(admin.TabularInline):
    model = AvailabilityWindow
    extra = 0


@admin.register(Volunteer)
class VolunteerAdmin(admin.ModelAdmin):
    """Lists show masked numbers; the full number is on the volunteer's own page, and opening that page, exporting
    and erasing are written to the coordinator audit log (volunteers.privacy)."""

    list_display = ["name", "masked_phone", "postcode", "seat", "consent_sms", "sms_opted_out", "phone_invalid",
                    "anonymised_at", "created_at"]
    list_filter = ["consent_sms", "sms_opted_out", "phone_invalid", ("anonymised_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "phone", "email", "postcode"]
    raw_id_fields = ["seat"]
    # The dispatch token (/api/volunteers/<token>/) is a private link: masked here as everywhere in the admin.
    exclude = ["token"]
    readonly_fields = ["masked_token", "consent_sms_at", "consent_sms_version", "phone_verified_at", "anonymised_at",
                       "created_at", "updated_at"]
    inlines = [AvailabilityInline, BookingInline]
    actions = ["export_csv", "export_personal_data", "erase_personal_data"]

    @admin.action(description="Export selected as CSV (masked numbers, consent)")
    def export_csv(self, request, queryset):
        rows = exports.volunteers_export_rows(actor=request.user, selection=queryset)
        return export_response(exports.VOLUNTEERS, rows)

    @admin.display(description="phone")
    def masked_phone(self, obj) -> str:
        return privacy.mask_phone(obj.phone) if obj.anonymised_at is None else ""

    @admin.display(description="private link token")
    def masked_token(self, obj) -> str:
        return privacy.mask_token(obj.token)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method == "GET" and str(object_id).isdigit():
            privacy.personal_data_accessed_record(actor=request.user, action=privacy.Access.VIEWED,
                                                  volunteer_ids=[int(object_id)], where="admin")
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.action(description="Export the selected volunteers' personal data (JSON)")
    def export_personal_data(self, request, queryset):
        volunteers = list(queryset.order_by("pk"))
        privacy.personal_data_accessed_record(actor=request.user, action=privacy.Access.EXPORTED,
                                              volunteer_ids=[v.pk for v in volunteers], where="admin")
        body = json.dumps([privacy.volunteer_data_export(volunteer=v) for v in volunteers], cls=DjangoJSONEncoder,
                          indent=2)
        response = HttpResponse(body, content_type="application/json")
        response["Content-Disposition"] = 'attachment; filename="frontroom-volunteers.json"'
        response["Cache-Control"] = "no-store"
        return response

    @admin.action(description="Erase the selected volunteers' personal data (keeps anonymous counts)")
    def erase_personal_data(self, request, queryset):
        erased = sum(privacy.volunteer_personal_data_erase(volunteer_id=pk, actor=request.user)
                     for pk in queryset.values_list("pk", flat=True))
        messages.success(request, f"Erased the personal data of {erased} volunteer(s).")

    def delete_model(self, request, obj):
        privacy.personal_data_accessed_record(actor=request.user, action=privacy.Access.ERASED,
                                              volunteer_ids=[obj.pk], where="admin delete")
        volunteer_delete(volunteer_id=obj.pk)

    def delete_queryset(self, request, queryset):
        ids = list(queryset.values_list("pk", flat=True))
        privacy.personal_data_accessed_record(actor=request.user, action=privacy.Access.ERASED, volunteer_ids=ids,
                                              where="admin delete")
        for volunteer_id in ids:
            volunteer_delete(volunteer_id=volunteer_id)


class BookingEventInline(ReadOnlyInline):
    model = BookingEvent
    fields = ["kind", "version", "created_at", "processed_at"]


@admin.register(Booking)
class BookingAdmin(ViewingIsAudited, admin.ModelAdmin):
    """Read-only, with actions: a booking changes only through the services, which count the slot's places,
    version the booking and text the volunteer. Its private link is masked (searching by it still works), and
    opening a booking's page is audited, as a volunteer's is."""

    audit_where, audit_key = "admin booking", "booking"

    list_display = ["volunteer", "slot", "status", "source", "created_at"]
    list_filter = ["status", "source", "slot__session__seat__region"]
    search_fields = ["volunteer__name", "volunteer__phone", "slot__session__title", "manage_token"]
    exclude = ["manage_token"]
    readonly_fields = ["volunteer", "slot", "status", "source", "proven_at", "approval", "masked_manage_token", "version",
                       "redirected_to",
                       "attendance_confirmed_at", "waitlisted_at", "cancelled_at", "created_at", "updated_at"]
    inlines = [BookingEventInline]
    actions = ["export_csv", "cancel_bookings", "mark_attended", "mark_no_show"]

    @admin.action(description="Export selected as CSV (masked numbers)")
    def export_csv(self, request, queryset):
        rows = exports.bookings_export_rows(actor=request.user, selection=queryset)
        return export_response(exports.BOOKINGS, rows)

    def has_add_permission(self, request) -> bool:
        return False  # volunteers book through the API; coordinators move people with the overflow

    @admin.display(description="private link token")
    def masked_manage_token(self, obj) -> str:
        return privacy.mask_token(obj.manage_token)

    def delete_model(self, request, obj):
        bookings_delete(booking_ids=[obj.pk])  # a confirmed place is given back first

    def delete_queryset(self, request, queryset):
        bookings_delete(booking_ids=list(queryset.values_list("pk", flat=True)))

    @admin.action(description="Cancel the selected bookings (frees their places, texts the volunteers)")
    def cancel_bookings(self, request, queryset):
        cancelled, refused = 0, []
        for booking in queryset:
            try:
                booking_cancel(manage_token=booking.manage_token)
                cancelled += 1
            except DomainError as exc:
                refused.append(f"{booking}: {exc.message}")
        self._report(request, f"Cancelled {cancelled} booking(s).", cancelled, refused)

    @admin.action(description="Record that the selected volunteers came")
    def mark_attended(self, request, queryset):
        self._attendance(request, queryset, attended=True)

    @admin.action(description="Record the selected volunteers as no-shows")
    def mark_no_show(self, request, queryset):
        self._attendance(request, queryset, attended=False)

    def _attendance(self, request, queryset, *, attended: bool) -> None:
        recorded, refused = 0, []
        for booking in queryset.select_related("slot"):
            try:
                booking_attendance_record(user=request.user, session_id=booking.slot.session_id, booking_id=booking.pk,
                                          attended=attended)
                recorded += 1
            except DomainError as exc:
                refused.append(f"{booking}: {exc.message}")
        self._report(request, f"Recorded attendance for {recorded} booking(s).", recorded, refused)

    @staticmethod
    def _report(request, done_message: str, done: int, refused: list[str]) -> None:
        if done:
            messages.success(request, done_message)
        for problem in refused:
            messages.warning(request, problem)


@admin.register(BookingEvent)
class BookingEventAdmin(admin.ModelAdmin):
    """The record of what happened to each booking: read-only."""

    list_display = ["kind", "booking", "version", "created_at", "processed_at"]
    list_filter = ["kind", "processed_at"]
    readonly_fields = ["booking", "kind", "version", "payload", "created_at", "processed_at"]

    def has_add_permission(self, request) -> bool:
        return False


class SlotBookingInline(ReadOnlyInline):
    model = Booking
    fk_name = "slot"
    fields = ["volunteer", "status", "source", "waitlisted_at", "created_at"]
    show_change_link = True


# Slots live in the lower `sessions` app, which does not know about bookings; add them here.
admin.site.unregister(Slot)


@admin.register(Slot)
class SlotWithBookingsAdmin(SlotAdmin):
    inlines = [SlotBookingInline]


@admin.register(AvailabilityWindow)
class AvailabilityWindowAdmin(admin.ModelAdmin):
    list_display = ["volunteer", "starts_at", "ends_at"]
    search_fields = ["volunteer__name", "volunteer__phone"]
    raw_id_fields = ["volunteer"]
    date_hierarchy = "starts_at"


@admin.register(PhoneChallenge)
class PhoneChallengeAdmin(ViewingIsAudited, admin.ModelAdmin):
    """Read-only: who asked for a code, for which booking, and whether it was typed. The code is never stored, the
    challenge's private link (/check/<token>) never shown; the full number is on its own page, whose opening is
    audited."""

    audit_where, audit_key = "admin phone challenge", "challenge"

    list_display = ["created_at", "purpose", "volunteer", "booking", "attempts", "sends", "expires_at", "verified_at"]
    list_filter = ["purpose"]
    search_fields = ["phone", "volunteer__name"]
    fields = ["purpose", "phone", "volunteer", "booking", "attempts", "max_attempts", "sends", "expires_at",
              "verified_at", "pending_details", "created_at"]
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(RememberedDevice)
class RememberedDeviceAdmin(admin.ModelAdmin):
    """Devices remembered for a phone (volunteers.devices): whose, since and until when; never the token's hash.
    Deleting one is "forget this device" for its owner: its cookie stops working at once."""

    list_display = ["__str__", "volunteer", "created_at", "last_used_at", "expires_at"]
    fields = ["volunteer", "user_agent", "created_at", "last_used_at", "expires_at"]
    readonly_fields = fields
    list_select_related = ["volunteer"]

    def has_add_permission(self, request) -> bool:
        return False  # made only by a right code


@admin.register(CalendarFeed)
class CalendarFeedAdmin(admin.ModelAdmin):
    """Private calendar feeds (volunteers.feeds): who has one and when it was last reset; never the token."""

    list_display = ["__str__", "kind", "host", "volunteer", "created_at", "reset_at"]
    list_filter = ["kind"]
    fields = ["kind", "host", "volunteer", "created_at", "reset_at"]
    readonly_fields = fields
    actions = ["reset_links"]

    def has_add_permission(self, request) -> bool:
        return False  # owners ask for a feed on their own page

    @admin.action(description="Reset the selected feeds' links (the old addresses stop working)")
    def reset_links(self, request, queryset):
        from volunteers.feeds import calendar_feed_reset

        for feed in queryset.select_related("host", "volunteer"):
            calendar_feed_reset(host=feed.host, volunteer=feed.volunteer)
        messages.success(request, f"{queryset.count()} feed link(s) reset.")


@admin.register(FrontRoomDisclosure)
class FrontRoomDisclosureAdmin(ViewingIsAudited, admin.ModelAdmin):
    """The metered-disclosure ledger (volunteers.disclosure): which phone was shown which front room, read-only."""

    audit_where = "admin front room disclosure"
    audit_key = "front_room_disclosure"
    list_display = ["__str__", "volunteer", "meeting_point", "first_path", "first_shown_at", "last_shown_at",
                    "released_by"]
    list_select_related = ["volunteer", "meeting_point", "released_by"]
    fields = ["volunteer", "meeting_point", "first_path", "last_path", "first_shown_at", "last_shown_at",
              "released_by"]
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(FrontRoomHold)
class FrontRoomHoldAdmin(ViewingIsAudited, admin.ModelAdmin):
    """Front rooms held back from phones past the meter; released on /coordinate/held-addresses/ or by the host."""

    audit_where = "admin front room hold"
    audit_key = "front_room_hold"
    list_display = ["__str__", "volunteer", "meeting_point", "path", "created_at", "released_at", "released_by"]
    list_filter = [("released_at", admin.EmptyFieldListFilter)]
    list_select_related = ["volunteer", "meeting_point", "released_by"]
    fields = ["volunteer", "meeting_point", "booking", "path", "created_at", "released_at", "released_by"]
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written by the services only (the consent ledger, volunteers' feedback, hosts' reports): read here."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ConsentRecord)
class ConsentRecordAdmin(ReadOnlyAdmin):
    list_display = ("volunteer_id", "kind", "channel", "action", "how", "version", "at")
    list_filter = ("kind", "channel", "action", "how")


@admin.register(Feedback)
class FeedbackAdmin(ReadOnlyAdmin):
    list_display = ("booking_id", "went", "rating", "again", "source", "updated_at")


@admin.register(SessionReport)
class SessionReportAdmin(ReadOnlyAdmin):
    list_display = ("session", "doors", "conversations", "updated_at")


@admin.register(SeatTurnoutPolicy)
class SeatTurnoutPolicyAdmin(admin.ModelAdmin):
    list_display = ("seat", "overbook", "updated_at")
