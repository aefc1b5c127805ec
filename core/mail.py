"""The email backend the app is configured with, counted: frontroom_emails_total{result="sent"|"failed"}.

settings.EMAIL_BACKEND is this class; the backend that really sends is EMAIL_DELIVERY_BACKEND (the
EMAIL_BACKEND environment variable: console by default, SMTP in production).
"""

from django.conf import settings
from django.core.mail import get_connection
from django.core.mail.backends.base import BaseEmailBackend

from core import metrics


class MeteredEmailBackend(BaseEmailBackend):
    def __init__(self, fail_silently=False, **kwargs):
        super().__init__(fail_silently=fail_silently)
        self.inner = get_connection(settings.EMAIL_DELIVERY_BACKEND, fail_silently=fail_silently, **kwargs)

    def open(self):
        return self.inner.open()

    def close(self):
        return self.inner.close()

    def send_messages(self, email_messages):
        messages = list(email_messages)
        try:
            sent = self.inner.send_messages(messages) or 0
        except Exception:
            metrics.EMAILS.labels(result="failed").inc(len(messages))
            raise
        metrics.EMAILS.labels(result="sent").inc(sent)
        if sent < len(messages):
            metrics.EMAILS.labels(result="failed").inc(len(messages) - sent)
        return sent
