from django.apps import AppConfig


class SmsConfig(AppConfig):
    name = "dispatch.sms"
    label = "sms"
    verbose_name = "SMS"
