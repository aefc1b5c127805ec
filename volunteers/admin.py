from django.contrib import admin, messages

from core.errors import DomainError
from sessions.admin import SlotAdmin
from sessions.models import Slot
from volunteers.models import AvailabilityWindow, Booking, BookingEvent, Volunteer
from volunteers.services import booking_attendance_record


class BookingInline(admin.TabularInline):
    model = Booking
    extra = 0
    fields = ["slot", "status", "source", "created_at"]
    readonly_fields = fields
    show_change_link = True
    can_delete = False


class AvailabilityInline(admin.TabularInline):
    model = AvailabilityWindow
    extra = 0


@admin.register(Volunteer)
class VolunteerAdmin(admin.ModelAdmin):
    list_display = ["name", "phone", "postcode", "seat", "consent_sms", "sms_opted_out", "phone_invalid", "created_at"]
    list_filter = ["consent_sms", "sms_opted_out", "phone_invalid"]
    search_fields = ["name", "phone", "email", "postcode"]
    raw_id_fields = ["seat"]
    readonly_fields = ["token", "created_at", "updated_at"]
    inlines = [AvailabilityInline, BookingInline]


class BookingEventInline(admin.TabularInline):
    model = BookingEvent
    extra = 0
    fields = ["kind", "version", "created_at", "processed_at"]
    readonly_fields = fields
    can_delete = False


@admin.register(Booking)
class BookingAdmin(admin.ModelAdmin):
    list_display = ["volunteer", "slot", "status", "source", "created_at"]
    list_filter = ["status", "source", "slot__session__seat__region"]
    search_fields = ["volunteer__name", "volunteer__phone", "slot__session__title", "manage_token"]
    raw_id_fields = ["volunteer", "slot", "redirected_to"]
    readonly_fields = ["manage_token", "version", "created_at", "updated_at"]
    inlines = [BookingEventInline]
    actions = ["mark_attended", "mark_no_show"]

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
        if recorded:
            messages.success(request, f"Recorded attendance for {recorded} booking(s).")
        for problem in refused:
            messages.warning(request, problem)


@admin.register(BookingEvent)
class BookingEventAdmin(admin.ModelAdmin):
    list_display = ["kind", "booking", "version", "created_at", "processed_at"]
    list_filter = ["kind", "processed_at"]
    raw_id_fields = ["booking"]


class SlotBookingInline(admin.TabularInline):
    model = Booking
    fk_name = "slot"
    extra = 0
    fields = ["volunteer", "status", "source", "waitlisted_at", "created_at"]
    readonly_fields = fields
    show_change_link = True
    can_delete = False


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
