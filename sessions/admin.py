from django.contrib import admin, messages

from sessions.models import CanvassSession, MeetingPoint, Slot
from sessions.services import session_cancel


class SlotInline(admin.TabularInline):
    model = Slot
    extra = 0
    fields = ["starts_at", "ends_at", "capacity", "confirmed_count", "turf"]
    readonly_fields = ["confirmed_count"]
    show_change_link = True


@admin.register(MeetingPoint)
class MeetingPointAdmin(admin.ModelAdmin):
    list_display = ["name", "postcode", "seat", "host", "capacity", "is_active"]
    list_filter = ["is_active", "seat__region"]
    search_fields = ["name", "postcode", "address", "host__username", "host__email"]
    raw_id_fields = ["host"]
    autocomplete_fields = ["seat"]


@admin.register(CanvassSession)
class CanvassSessionAdmin(admin.ModelAdmin):
    list_display = ["title", "seat", "meeting_point", "starts_at", "status"]
    list_filter = ["status", "seat__priority", "seat__region", "starts_at"]
    search_fields = ["title", "seat__name", "meeting_point__name", "postcode_district"]
    date_hierarchy = "starts_at"
    autocomplete_fields = ["seat"]
    raw_id_fields = ["meeting_point"]
    readonly_fields = ["lat", "lng", "postcode_district", "starts_at", "ends_at", "cancelled_at"]
    inlines = [SlotInline]
    actions = ["cancel_sessions"]

    @admin.action(description="Cancel the selected sessions and their bookings")
    def cancel_sessions(self, request, queryset):
        for session in queryset:
            session_cancel(user=request.user, session_id=session.pk)
        messages.success(request, f"Cancelled {queryset.count()} session(s).")


@admin.register(Slot)
class SlotAdmin(admin.ModelAdmin):
    list_display = ["__str__", "starts_at", "capacity", "confirmed_count"]
    list_filter = ["session__status", "starts_at"]
    search_fields = ["session__title", "turf"]
    raw_id_fields = ["session"]
    readonly_fields = ["confirmed_count"]
