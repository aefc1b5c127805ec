from django.contrib import admin

from seats.models import OrganiserScope, Postcode, PostcodeDistrict, Seat, SeatAdjacency


class AdjacencyInline(admin.TabularInline):
    model = SeatAdjacency
    fk_name = "from_seat"
    extra = 0
    autocomplete_fields = ["to_seat"]
    fields = ["to_seat", "kind", "shared_border_km"]


@admin.register(Seat)
class SeatAdmin(admin.ModelAdmin):
    list_display = ["name", "ons_code", "region", "winner", "runner_up", "majority", "majority_pct", "priority", "is_target"]
    list_filter = ["priority", "is_target", "nation", "region", "winner"]
    list_editable = ["is_target"]
    search_fields = ["name", "ons_code"]
    readonly_fields = ["computed_priority", "priority", "updated_at"]
    inlines = [AdjacencyInline]

    def save_model(self, request, obj, form, change):
        from seats.services import seat_priority_set

        super().save_model(request, obj, form, change)
        seat_priority_set(ons_code=obj.pk, priority_override=obj.priority_override, is_target=obj.is_target)


@admin.register(PostcodeDistrict)
class PostcodeDistrictAdmin(admin.ModelAdmin):
    list_display = ["outcode", "seat", "lat", "lng", "postcode_count"]
    search_fields = ["outcode"]
    raw_id_fields = ["seat"]


@admin.register(Postcode)
class PostcodeAdmin(admin.ModelAdmin):
    list_display = ["postcode", "seat", "lat", "lng"]
    search_fields = ["=postcode"]
    raw_id_fields = ["seat"]
    show_full_result_count = False


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
