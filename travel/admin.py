from django.contrib import admin

from travel.models import LiftBlock, LiftOffer, LiftRequest


@admin.register(LiftBlock)
class LiftBlockAdmin(admin.ModelAdmin):
    list_display = ("volunteer", "reason", "blocked_by", "created_at")
    raw_id_fields = ("volunteer",)
    readonly_fields = ("blocked_by", "created_at")

    def save_model(self, request, obj, form, change):
        from travel.services import volunteer_block

        volunteer_block(volunteer_id=obj.volunteer_id, user=request.user, reason=obj.reason)  # ends their lifts


@admin.register(LiftOffer)
class LiftOfferAdmin(admin.ModelAdmin):
    list_display = ("slot", "pickup_district", "departs_at", "seats", "status", "invite_only")
    list_filter = ("status",)
    readonly_fields = [field.name for field in LiftOffer._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(LiftRequest)
class LiftRequestAdmin(admin.ModelAdmin):
    list_display = ("offer", "status", "created_at", "answered_at")
    list_filter = ("status",)
    readonly_fields = [field.name for field in LiftRequest._meta.fields]

    def has_add_permission(self, request):
        return False
