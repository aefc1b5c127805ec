from django import forms
from django.contrib import admin, messages

from core.admin import ReadOnlyInline
from core.errors import DomainError
from seats.geocoding import postcode_locate
from sessions.models import CanvassSession, HostStanding, MeetingPoint, Slot, VettingDecision
from sessions.services import (
    MEETING_POINT_FIELDS,
    meeting_point_create,
    meeting_point_update,
    session_cancel,
    slot_update,
)
from sessions.vetting import host_trust_set, session_approve


class SlotInline(ReadOnlyInline):
    """Read-only: a slot is edited on its own page, through slot_update (a form saving the whole row here would
    write back a confirmed_count read before a booking that came in meanwhile)."""

    model = Slot
    fields = ["starts_at", "ends_at", "capacity", "confirmed_count", "turf"]
    show_change_link = True


class MeetingPointAdminForm(forms.ModelForm):
    class Meta:
        model = MeetingPoint
        fields = ["host", *MEETING_POINT_FIELDS]

    def clean_postcode(self):
        try:
            return postcode_locate(self.cleaned_data["postcode"], exact=True).postcode
        except DomainError as exc:
            raise forms.ValidationError(exc.message) from None


@admin.register(MeetingPoint)
class MeetingPointAdmin(admin.ModelAdmin):
    """Saved through the services, as the API saves: the postcode is geocoded (and copied to upcoming
    sessions), and a new address is texted to the volunteers booked there."""

    form = MeetingPointAdminForm
    list_display = ["name", "postcode", "seat", "host", "capacity", "is_active"]
    list_filter = ["is_active", "seat__region"]
    search_fields = ["name", "postcode", "address", "host__username", "host__email"]
    raw_id_fields = ["host"]
    readonly_fields = ["lat", "lng", "public_lat", "public_lng", "seat", "created_at", "updated_at"]

    def save_model(self, request, obj, form, change):
        data = {field: form.cleaned_data[field] for field in MEETING_POINT_FIELDS if field in form.cleaned_data}
        if change:
            changed = {field: value for field, value in data.items() if field in form.changed_data}
            saved = meeting_point_update(user=request.user, meeting_point=MeetingPoint.objects.get(pk=obj.pk), **changed)
            if "host" in form.changed_data:
                MeetingPoint.objects.filter(pk=saved.pk).update(host=form.cleaned_data["host"])
        else:
            saved = meeting_point_create(host=form.cleaned_data["host"], **data)
        obj.pk = saved.pk


@admin.register(CanvassSession)
class CanvassSessionAdmin(admin.ModelAdmin):
    list_display = ["title", "seat", "meeting_point", "starts_at", "status"]
    list_filter = ["status", "seat__priority", "seat__region", "starts_at"]
    search_fields = ["title", "seat__name", "meeting_point__name", "postcode_district"]
    date_hierarchy = "starts_at"
    autocomplete_fields = ["seat"]
    # Status changes through the action (session_cancel cancels the bookings and tells the volunteers). The
    # meeting point is fixed: a new address reaches volunteers by editing the meeting point, which texts them.
    readonly_fields = ["meeting_point", "status", "lat", "lng", "postcode_district", "starts_at", "ends_at",
                       "cancelled_at", "seat_set_by", "reviewed_at", "reviewed_by", "review_reason"]
    inlines = [SlotInline]
    actions = ["cancel_sessions", "approve_sessions"]

    def save_model(self, request, obj, form, change):
        # The seat is the room's postcode's unless a coordinator chooses another here: recorded as theirs.
        if "seat" in form.changed_data:
            obj.seat_set_by = None if obj.seat_id == obj.meeting_point.seat_id else request.user
        super().save_model(request, obj, form, change)

    @admin.action(description="Approve and publish the selected sessions waiting for a check")
    def approve_sessions(self, request, queryset):
        approved = 0
        for session in queryset.filter(status=CanvassSession.Status.REVIEW):
            session_approve(user=request.user, session_id=session.pk)
            approved += 1
        messages.success(request, f"Approved {approved} session(s).")

    def has_add_permission(self, request) -> bool:
        return False  # sessions are published through the API (POST /api/sessions/), which checks their slots

    @admin.action(description="Cancel the selected sessions and their bookings")
    def cancel_sessions(self, request, queryset):
        for session in queryset:
            session_cancel(user=request.user, session_id=session.pk)
        messages.success(request, f"Cancelled {queryset.count()} session(s).")


class SlotAdminForm(forms.ModelForm):
    class Meta:
        model = Slot
        fields = ["capacity", "turf"]

    def clean_capacity(self):
        capacity = self.cleaned_data["capacity"]
        if capacity < self.instance.confirmed_count:
            raise forms.ValidationError(f"{self.instance.confirmed_count} volunteers are already confirmed.")
        if capacity > self.instance.session.meeting_point.capacity:
            raise forms.ValidationError(f"The room holds {self.instance.session.meeting_point.capacity}.")
        return capacity


@admin.register(Slot)
class SlotAdmin(admin.ModelAdmin):
    """Capacity and turf change through slot_update: under the slot's lock, never below the confirmed
    bookings, and more room promotes the waitlist. Times are fixed once volunteers can book."""

    form = SlotAdminForm
    list_display = ["__str__", "starts_at", "capacity", "confirmed_count"]
    list_filter = ["session__status", "starts_at"]
    search_fields = ["session__title", "turf"]
    readonly_fields = ["session", "starts_at", "ends_at", "confirmed_count"]
    fields = ["session", "starts_at", "ends_at", "capacity", "confirmed_count", "turf"]

    def has_add_permission(self, request) -> bool:
        return False  # slots are added to a session through the API (add_slots)

    def save_model(self, request, obj, form, change):
        changed = {field: form.cleaned_data[field] for field in ("capacity", "turf") if field in form.changed_data}
        try:
            slot_update(user=request.user, slot_id=obj.pk, **changed)
        except DomainError as exc:  # a booking came in between the form's check and the locked update
            messages.error(request, exc.message)


@admin.register(HostStanding)
class HostStandingAdmin(admin.ModelAdmin):
    """Whom we trust (their sessions publish at once) and which address each host proved. Trust changes through
    host_trust_set, which records who changed it (VettingDecision)."""

    list_display = ["host", "trusted", "email_verified", "email_verified_at", "trusted_at", "trusted_by"]
    list_filter = ["trusted"]
    search_fields = ["host__username", "host__email", "email_verified"]
    fields = ["host", "trusted", "trusted_at", "trusted_by", "email_verified", "email_verified_at"]
    readonly_fields = ["host", "trusted_at", "trusted_by", "email_verified", "email_verified_at"]

    def has_add_permission(self, request) -> bool:
        return False  # a row is made at sign-up, or by trusting a host from the review queue

    def save_model(self, request, obj, form, change):
        if "trusted" in form.changed_data:
            host_trust_set(user=request.user, host_id=obj.host_id, trusted=obj.trusted)


@admin.register(VettingDecision)
class VettingDecisionAdmin(admin.ModelAdmin):
    """The audit of vetting: read-only."""

    list_display = ["created_at", "kind", "host", "session", "by", "reason"]
    list_filter = ["kind"]
    search_fields = ["host__username", "by__username", "reason"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
