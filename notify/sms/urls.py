from django.urls import path

from notify.sms import webhooks

urlpatterns = [
    path("inbound/", webhooks.inbound, name="sms-inbound"),
    path("status/", webhooks.status, name="sms-status"),
]
