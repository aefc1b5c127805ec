from django.contrib import admin, messages

from dispatch.email import services
from dispatch.email.models import EmailMessage, HostEmailPreference
from volunteers.privacy import Access, personal_data_accessed_record


def mask_email(address: str) -> str:
    """jo.bloggs@example.org -> j•••@example.org: enough to tell two people apart in a list."""
    local, _, domain = (address or "").partition("@")
    return f"{local[:1]}•••@{domain}" if domain else ("•••" if address else "")


@admin.register(EmailMessage)
class EmailMessageAdmin(admin.ModelAdmin):
    """The email log: every row of the outbox and what became of it. Read-only; failed ones can be sent again."""

    list_display = ["created_at", "kind", "masked_to", "status", "skip_reason", "error_code", "attempts", "sent_at"]
    list_filter = ["status", "kind", "skip_reason", "error_code"]
    search_fields = ["to", "message_id"]
    raw_id_fields = ["volunteer", "host", "booking"]
    readonly_fields = [field.name for field in EmailMessage._meta.fields]
    date_hierarchy = "created_at"
    actions = ["retry"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.display(description="to")
    def masked_to(self, obj) -> str:
        return mask_email(obj.to)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # The full address is on the message's own page; opening a volunteer's is audited.
        volunteer_id = EmailMessage.objects.filter(pk=object_id).values_list("volunteer_id", flat=True).first() \
            if str(object_id).isdigit() else None
        if request.method == "GET" and volunteer_id is not None:
            personal_data_accessed_record(actor=request.user, action=Access.VIEWED, volunteer_ids=[volunteer_id],
                                          where="admin email message", message=int(object_id))
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.action(description="Send the selected failed, skipped or assumed emails again")
    def retry(self, request, queryset):
        count = sum(services.message_retry(message_id=pk) for pk in queryset.values_list("pk", flat=True))
        self.message_user(request, f"{count} email(s) queued again.", messages.SUCCESS)


@admin.register(HostEmailPreference)
class HostEmailPreferenceAdmin(admin.ModelAdmin):
    list_display = ["host", "notify", "updated_at"]
    list_filter = ["notify"]
    raw_id_fields = ["host"]
