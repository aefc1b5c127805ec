"""Celery application, laid out as in Celery's "First steps with Django"."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("frontroom")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
