from django.contrib import admin

from seats.models import BoundarySet, OrganiserScope, Seat, SeatAdjacency


class AdjacencyInline(admin.TabularInline):
    model = SeatAdjacency
    fk_name = "from_seat"
    extra = 0
    autocomplete_fields = ["to_seat"]
    fields = ["to_seat", "kind", "shared_border_km"]


@admin.register(Seat)
class SeatAdmin(admin.ModelAdmin):
    list_display = ["name", "ons_code", "boundary_set", "last_boundary_set", "region", "winner", "runner_up", "majority", "majority_pct", "priority", "is_target"]
    list_filter = ["boundary_set", "last_boundary_set", "priority", "is_target", "nation", "region", "winner"]
    list_editable = ["is_target"]
    search_fields = ["name", "ons_code"]
    readonly_fields = ["boundary_set", "last_boundary_set", "computed_priority", "priority", "notional_year",
                       "notional_winner", "notional_majority", "notional_majority_pct", "updated_at"]
    inlines = [AdjacencyInline]

    def save_model(self, request, obj, form, change):
        from seats.services import seat_priority_set

        super().save_model(request, obj, form, change)
        seat_priority_set(ons_code=obj.pk, priority_override=obj.priority_override, is_target=obj.is_target)


# Postcodes and districts have a (boundary set, code) key, which the admin cannot edit; they are reference data
# that `import_postcodes` loads, never hand-edited.


@admin.register(BoundarySet)
class BoundarySetAdmin(admin.ModelAdmin):
    """Read-only: switching the current set moves live data, which `manage.py move_to_boundary_set` does."""

    list_display = ["code", "name", "is_current"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(SeatAdjacency)
class SeatAdjacencyAdmin(admin.ModelAdmin):
    list_display = ["from_seat", "to_seat", "kind", "shared_border_km"]
    list_filter = ["kind"]
    search_fields = ["from_seat__name", "to_seat__name", "from_seat__ons_code"]
    raw_id_fields = ["from_seat", "to_seat"]


@admin.register(OrganiserScope)
class OrganiserScopeAdmin(admin.ModelAdmin):
    """A regional organiser: a staff user kept to these regions and seats (seats.scopes). No row: national."""

    list_display = ["user", "regions", "updated_at"]
    search_fields = ["user__username"]
    autocomplete_fields = ["user", "seats"]
