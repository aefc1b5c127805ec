from django.contrib import admin

from sessions.admin import SlotAdmin
from sessions.models import Slot
from volunteers.models import AvailabilityWindow, Booking, BookingEvent, Volunteer


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
