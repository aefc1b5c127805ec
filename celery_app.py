"""Celery application, laid out as in Celery's "First steps with Django"."""

import os

from celery import Celery, signals
from django.db import close_old_connections

from core.heartbeat import WorkerHeartbeat

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("frontroom")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.steps["worker"].add(WorkerHeartbeat)  # /healthz and the worker's healthcheck read it (core/heartbeat.py)


@signals.task_prerun.connect
@signals.task_postrun.connect
def _database_connections_recycle(sender=None, **kwargs) -> None:
    """Keep a worker's database connection across tasks as Django keeps it across requests: closed once
    older than CONN_MAX_AGE or after an error. (CELERY_DB_REUSE_MAX stops Celery closing it every task.)"""
    if not getattr(sender.request, "is_eager", False):
        close_old_connections()


@signals.worker_init.connect
def _load_before_forking(**kwargs) -> None:
    """Load once, in the worker's main process, what tasks would otherwise load on first use in every child of
    the prefork pool (each child is a fork of this process and starts with it): the URLconf, which the first
    link built with reverse() imports whole (every view, the API and the solver with numpy: about 0.5 s of CPU
    per child, measured), and the email templates, compiled into the cached loader."""
    from django.urls import reverse

    from notify.email.services.content import templates_load

    reverse("health")
    templates_load()


@signals.setup_logging.connect
def _logging_configure(**kwargs) -> None:
    """Workers and beat log as the web app does (Django's LOGGING: request ids, LOG_FORMAT=json), not Celery's way."""
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)


@signals.before_task_publish.connect
def _request_id_send(headers=None, **kwargs) -> None:
    """A task enqueued while a request is handled carries that request's id (core/logs.py)."""
    from core.logs import request_id

    rid = request_id.get()
    if headers is not None and rid != "-":
        headers.setdefault("request_id", rid)


_request_id_tokens: dict[str, object] = {}


@signals.task_prerun.connect
def _request_id_receive(task_id=None, task=None, **kwargs) -> None:
    from core.logs import request_id, valid_request_id

    if task is None or getattr(task.request, "is_eager", False):
        return  # eager: runs inside the request, which already set it
    rid = valid_request_id(getattr(task.request, "request_id", None)) or f"task-{task_id}"
    _request_id_tokens[task_id] = request_id.set(rid)


@signals.task_postrun.connect
def _request_id_forget(task_id=None, **kwargs) -> None:
    from core.logs import request_id

    token = _request_id_tokens.pop(task_id, None)
    if token is not None:
        request_id.reset(token)
