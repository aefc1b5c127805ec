from django.urls import path

from dispatch.sms.api import SmsMessageListView

urlpatterns = [
    path("sms/messages/", SmsMessageListView.as_view(), name="sms-messages"),
]
