from django.contrib import admin, messages

from core.exports import export_response
from notify.sms import services
from notify.sms.models import HostMobileProof, HostSmsPreference, SmsMessage, WebhookReceipt
from notify.sms.serializers import body_redacted
from volunteers.admin import ViewingIsAudited
from volunteers.privacy import mask_phone


@admin.register(SmsMessage)
class SmsMessageAdmin(ViewingIsAudited, admin.ModelAdmin):
    list_display = ["created_at", "kind", "masked_to", "volunteer", "status", "skip_reason", "error_code", "attempts",
                    "segments"]
    list_filter = ["status", "kind", "error_code", "skip_reason"]
    search_fields = ["to", "twilio_sid", "volunteer__name"]
    raw_id_fields = ["volunteer", "host", "booking", "challenge", "host_proof"]
    # A code text's body holds the code and the private link: shown redacted, never searchable.
    exclude = ["body"]
    readonly_fields = [field.name for field in SmsMessage._meta.fields if field.name != "body"] + ["text"]
    date_hierarchy = "created_at"
    actions = ["retry", "export_failures_csv"]
    # The full number and text are on the message's own page.
    audit_where, audit_key = "admin sms message", "message"

    @admin.action(description="Export selected failures as CSV (failed or undelivered; masked numbers, no text)")
    def export_failures_csv(self, request, queryset):
        from notify.sms import exports

        rows = exports.sms_failures_export_rows(actor=request.user, selection=queryset)
        return export_response(exports.SMS_FAILURES, rows)

    @admin.display(description="Body")
    def text(self, obj) -> str:
        return body_redacted(obj)

    def has_add_permission(self, request) -> bool:
        return False

    @admin.display(description="to")
    def masked_to(self, obj) -> str:
        return mask_phone(obj.to)

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


class ProvenFilter(admin.SimpleListFilter):
    title = "mobile proven"
    parameter_name = "proven"

    def lookups(self, request, model_admin):
        return [("yes", "Proven"), ("no", "Not proven")]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(mobile_proven_at__isnull=self.value() == "no")
        return queryset


@admin.register(HostSmsPreference)
class HostSmsPreferenceAdmin(admin.ModelAdmin):
    """Hosts who chose texts, and at which mobile (masked in the list), proven by its code or not yet."""

    list_display = ["host", "texts", "digest", "masked_mobile", "mobile_proven", "sms_opted_out", "phone_invalid",
                    "updated_at"]
    list_filter = ["texts", "digest", ProvenFilter, "sms_opted_out", "phone_invalid"]
    raw_id_fields = ["host"]
    search_fields = ["host__username"]
    # The mobile is the host's to set and to prove (the code texted to it, typed on their settings page); a
    # coordinator can only stop the texts.
    readonly_fields = ["host", "mobile", "mobile_proven_at", "sms_opted_out", "phone_invalid", "updated_at"]

    @admin.display(description="mobile proven", boolean=True, ordering="mobile_proven_at")
    def mobile_proven(self, obj) -> bool:
        return obj.mobile_proven_at is not None

    def has_add_permission(self, request) -> bool:
        return False

    @admin.display(description="mobile")
    def masked_mobile(self, obj) -> str:
        return mask_phone(obj.mobile)


@admin.register(HostMobileProof)
class HostMobileProofAdmin(admin.ModelAdmin):
    """Hosts' mobile proofs, read-only: whether and when a host proved their number (the code's hash and its token
    are never shown)."""

    list_display = ["host", "masked_phone", "verified_at", "attempts", "expires_at"]
    list_filter = ["verified_at"]
    raw_id_fields = ["host"]
    search_fields = ["host__username"]
    exclude = ["code_hash", "token", "phone"]
    readonly_fields = ["host", "masked_phone", "sends", "attempts", "max_attempts", "expires_at", "verified_at",
                       "created_at"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="mobile")
    def masked_phone(self, obj) -> str:
        return mask_phone(obj.phone)
