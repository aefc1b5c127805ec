from django.contrib import admin, messages

from dispatch.sms import services
from dispatch.sms.models import SmsMessage, WebhookReceipt


@admin.register(SmsMessage)
class SmsMessageAdmin(admin.ModelAdmin):
    list_display = ["created_at", "kind", "to", "volunteer", "status", "skip_reason", "error_code", "attempts", "segments"]
    list_filter = ["status", "kind", "error_code", "skip_reason"]
    search_fields = ["to", "twilio_sid", "volunteer__name", "body"]
    raw_id_fields = ["volunteer", "booking"]
    readonly_fields = [field.name for field in SmsMessage._meta.fields]
    date_hierarchy = "created_at"
    actions = ["retry"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Send the selected failed or skipped messages again")
    def retry(self, request, queryset):
        count = sum(services.message_retry(message_id=pk) for pk in queryset.values_list("pk", flat=True))
        self.message_user(request, f"{count} message(s) queued again.", messages.SUCCESS)


@admin.register(WebhookReceipt)
class WebhookReceiptAdmin(admin.ModelAdmin):
    """Which Twilio webhooks were handled (a replay of one of these did nothing): read-only."""

    list_display = ["received_at", "kind", "message_sid", "message_status"]
    list_filter = ["kind", "message_status"]
    search_fields = ["message_sid"]
    readonly_fields = ["kind", "message_sid", "message_status", "received_at"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
