from django.contrib import admin

from dispatch.models import AssignmentRun, CoordinatorAction, OverflowMove, ProposedAssignment


class ReadOnlyAdmin(admin.ModelAdmin):
    """Audit and run records are written by services only."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(CoordinatorAction)
class CoordinatorActionAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "actor", "kind", "run", "moved")
    list_filter = ("kind",)
    search_fields = ("actor__username",)
    date_hierarchy = "created_at"

    @admin.display(description="Moved / booked")
    def moved(self, obj) -> int | str:
        return obj.result.get("moved", obj.result.get("proposed", ""))


@admin.register(OverflowMove)
class OverflowMoveAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "volunteer", "from_seat", "to_seat", "ring", "distance_km", "trigger", "action",
                    "declined_at")
    list_filter = ("trigger", "ring")
    list_select_related = ("volunteer", "from_seat", "to_seat", "action")
    raw_id_fields = ("from_booking", "to_booking", "volunteer", "action")


@admin.register(ProposedAssignment)
class ProposedAssignmentAdmin(ReadOnlyAdmin):
    list_display = ("run", "volunteer", "slot", "seat", "distance_km", "reason", "outcome")
    list_filter = ("outcome", "reason")
    list_select_related = ("volunteer", "seat")
    raw_id_fields = ("run", "volunteer", "slot", "booking")
    search_fields = ("=run__id",)


@admin.register(AssignmentRun)
class AssignmentRunAdmin(ReadOnlyAdmin):
    list_display = ("id", "state", "progress", "created_by", "created_at", "committed_by", "committed_at")
    list_filter = ("state",)
    readonly_fields = ("state", "progress", "progress_message", "params", "totals", "error", "created_by",
                       "committed_by", "created_at", "started_at", "solved_at", "committed_at")
