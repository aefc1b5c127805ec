from django.urls import path

from notify.sms.api import SmsMessageListView

urlpatterns = [
    path("sms/messages/", SmsMessageListView.as_view(), name="sms-messages"),
]
