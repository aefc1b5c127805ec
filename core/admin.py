from django.contrib import admin


class ReadOnlyInline(admin.TabularInline):
    """Rows listed under their parent to be read: they change on their own page or through services, never here."""

    extra = 0
    can_delete = False

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False
