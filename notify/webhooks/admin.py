from django import forms
from django.contrib import admin, messages
from django.db.models.functions import Coalesce
from django.template.response import TemplateResponse

from core.errors import DomainError
from notify.webhooks import services
from notify.webhooks.models import EVENT_TYPE_CHOICES, WebhookDelivery, WebhookEndpoint
from notify.webhooks.network import url_problem
from notify.webhooks.signing import secret_key
from volunteers.admin import ViewingIsAudited


class WebhookEndpointForm(forms.ModelForm):
    event_types = forms.MultipleChoiceField(choices=EVENT_TYPE_CHOICES, widget=forms.CheckboxSelectMultiple)
    url = forms.CharField(max_length=500, label="URL", help_text="https://, at a public address.")
    new_secret = forms.CharField(
        required=False, max_length=100, label="Secret",
        help_text="whsec_<base64>. Leave empty to have one generated; it is shown once, after saving.")

    class Meta:
        model = WebhookEndpoint
        fields = ["url", "description", "event_types", "include_personal_data", "enabled"]

    def clean_url(self) -> str:
        url = self.cleaned_data["url"].strip()
        problem = url_problem(url)
        if problem:
            raise forms.ValidationError(problem)
        return url

    def clean_new_secret(self) -> str:
        secret = self.cleaned_data.get("new_secret", "").strip()
        if secret:
            try:
                secret_key(secret)
            except ValueError as exc:
                raise forms.ValidationError(str(exc)) from exc
        return secret


def _secrets_shown(request, endpoints, *, title: str):
    """The page that shows new secrets, once: they are not stored in a message cookie or shown again."""
    return TemplateResponse(request, "webhooks/admin/secret_shown.html", {
        "title": title, "endpoints": endpoints, "opts": WebhookEndpoint._meta,
        "site_header": admin.site.site_header, "has_permission": True,
    })


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = ["url", "description", "enabled", "disabled_reason", "consecutive_failures", "created_at"]
    list_filter = ["enabled", "disabled_reason"]
    search_fields = ["url", "description"]
    readonly_fields = ["disabled_reason", "disabled_at", "consecutive_failures", "secret_rotated_at",
                       "previous_secret_until", "created_by", "created_at", "updated_at"]
    actions = ["rotate_secret", "enable", "disable"]

    def get_readonly_fields(self, request, obj=None):
        # Once added, enabling and disabling go through the actions (they reset the failures, send what waited).
        return self.readonly_fields + (["enabled"] if obj else [])

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        return [name for name in fields if name != "new_secret"] if obj else fields  # new secrets: the action

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        fields = {name: data[name] for name in ("url", "description", "event_types", "include_personal_data")}
        try:
            if change:
                saved = services.endpoint_update(endpoint_id=obj.pk, **fields)
            else:
                saved = services.endpoint_create(user=request.user, enabled=data["enabled"],
                                                 secret=data.get("new_secret") or None, **fields)
        except DomainError as exc:  # checked by the form already; a race at most
            raise forms.ValidationError(exc.message) from exc
        obj.pk, obj.secret = saved.pk, saved.secret

    def response_add(self, request, obj, post_url_continue=None):
        return _secrets_shown(request, [obj], title="Webhook endpoint added: its secret")

    @admin.action(description="Give the selected endpoints new secrets (the old ones sign for 24 hours more)")
    def rotate_secret(self, request, queryset):
        endpoints = [services.endpoint_secret_rotate(endpoint_id=pk) for pk in queryset.values_list("pk", flat=True)]
        return _secrets_shown(request, endpoints, title="New webhook secrets")

    @admin.action(description="Enable the selected endpoints (failures reset; waiting deliveries go now)")
    def enable(self, request, queryset):
        for pk in queryset.values_list("pk", flat=True):
            services.endpoint_enable(endpoint_id=pk)
        self.message_user(request, "Endpoints enabled.", messages.SUCCESS)

    @admin.action(description="Disable the selected endpoints")
    def disable(self, request, queryset):
        for pk in queryset.values_list("pk", flat=True):
            services.endpoint_disable(endpoint_id=pk)
        self.message_user(request, "Endpoints disabled.", messages.SUCCESS)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ViewingIsAudited, admin.ModelAdmin):
    """The delivery log: read-only, with an action to send deliveries again."""

    list_display = ["id", "created_at", "endpoint", "event_type", "webhook_id", "status", "attempts",
                    "response_status", "short_error", "next_attempt_at", "delivered_at"]
    list_filter = ["status", "event_type", "endpoint"]
    search_fields = ["=event__id", "=booking__id", "error"]
    list_select_related = ["endpoint"]
    exclude = ["body"]
    readonly_fields = [field.name for field in WebhookDelivery._meta.fields if field.name != "body"] + [
        "webhook_id", "sent_body"]
    date_hierarchy = "created_at"
    actions = ["redeliver"]
    # The body holds the volunteer's details, as an SMS does.
    audited_volunteer = Coalesce("event__booking__volunteer_id", "booking__volunteer_id")
    audit_where, audit_key = "admin webhook delivery", "delivery"

    def has_add_permission(self, request) -> bool:
        return False

    @admin.display(description="error")
    def short_error(self, obj) -> str:
        return obj.error[:80]

    @admin.display(description="Body (as sent)")
    def sent_body(self, obj) -> str:
        return obj.body

    @admin.action(description="Send the selected delivered or failed deliveries again")
    def redeliver(self, request, queryset):
        count = sum(services.delivery_redeliver(delivery_id=pk) for pk in queryset.values_list("pk", flat=True))
        self.message_user(request, f"{count} delivery(ies) queued again.", messages.SUCCESS)
