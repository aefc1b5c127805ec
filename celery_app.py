"""Celery application, laid out as in Celery's "First steps with Django"."""

import os

from celery import Celery, signals
from django.db import close_old_connections

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("frontroom")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.task_prerun.connect
@signals.task_postrun.connect
def _database_connections_recycle(sender=None, **kwargs) -> None:
    """Keep a worker's database connection across tasks as Django keeps it across requests: closed once
    older than CONN_MAX_AGE or after an error. (CELERY_DB_REUSE_MAX stops Celery closing it every task.)"""
    if not getattr(sender.request, "is_eager", False):
        close_old_connections()
