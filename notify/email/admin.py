from django.contrib import admin, messages

from notify.email import services
from notify.email.models import EmailMessage, HostEmailPreference
from volunteers.admin import ViewingIsAudited


def mask_email(address: str) -> str:
    """jo.bloggs@example.org -> j•••@example.org: enough to tell two people apart in a list."""
    local, _, domain = (address or "").partition("@")
    return f"{local[:1]}•••@{domain}" if domain else ("•••" if address else "")


@admin.register(EmailMessage)
class EmailMessageAdmin(ViewingIsAudited, admin.ModelAdmin):
    """The email log: every row of the outbox and what became of it. Read-only; failed ones can be sent again."""

    list_display = ["created_at", "kind", "masked_to", "status", "skip_reason", "error_code", "attempts", "sent_at"]
    list_filter = ["status", "kind", "skip_reason", "error_code"]
    search_fields = ["to", "message_id"]
    raw_id_fields = ["volunteer", "host", "booking"]
    readonly_fields = [field.name for field in EmailMessage._meta.fields]
    date_hierarchy = "created_at"
    actions = ["retry"]
    # The full address is on the message's own page.
    audit_where, audit_key = "admin email message", "message"

    def has_add_permission(self, request) -> bool:
        return False

    @admin.display(description="to")
    def masked_to(self, obj) -> str:
        return mask_email(obj.to)

    @admin.action(description="Send the selected failed, skipped or assumed emails again")
    def retry(self, request, queryset):
        count = sum(services.message_retry(message_id=pk) for pk in queryset.values_list("pk", flat=True))
        self.message_user(request, f"{count} email(s) queued again.", messages.SUCCESS)


@admin.register(HostEmailPreference)
class HostEmailPreferenceAdmin(admin.ModelAdmin):
    list_display = ["host", "notify", "updated_at"]
    list_filter = ["notify"]
    raw_id_fields = ["host"]
