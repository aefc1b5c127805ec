"""The outbox's Celery tasks (notify.tasks) and the channels' old task names, kept for one release so that what was
queued under them before an upgrade is still sent."""

from datetime import timedelta

import pytest
from django.utils import timezone

import notify.outbox
from celery_app import app
from notify.registry import channel_get
from tests.notify.conftest import Channel
from tests.sms.conftest import broker
from tests.sms.factories import booking_make, slot_make

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def worker_modules():
    """The task modules a worker imports at start (autodiscovery), where the old names are registered."""
    app.loader.import_default_modules()

# The names a message was queued under before the outbox became one: (send, batch, sweep).
OLD_NAMES = {
    "sms": ("sms.message_send", "sms.messages_send_batch", "sms.outbox_sweep"),
    "email": ("email.message_send", "email.messages_send_batch", "email.outbox_sweep"),
    "webhooks": ("webhooks.delivery_send", "webhooks.deliveries_send_batch", "webhooks.deliveries_sweep"),
}


def _queued_while_the_broker_was_down(channel: Channel):
    with broker("redis://127.0.0.1:1/0"):
        booking = booking_make(slot=slot_make(), volunteer=channel.volunteer())
    row = channel.row(booking)
    assert row.status == "pending" and channel.delivered() == []
    return row


def test_the_outbox_and_every_old_name_are_registered():
    names = {"notify.send", "notify.send_batch", "notify.sweep"} | {name for old in OLD_NAMES.values() for name in old}
    assert names <= set(app.tasks)


def test_a_change_is_handed_to_the_new_task_by_channel_name(channel, monkeypatch):
    handed = []
    monkeypatch.setattr(notify.outbox, "enqueue", lambda task, args, **kwargs: handed.append((task.name, args)))
    booking = booking_make(slot=slot_make(), volunteer=channel.volunteer())
    row = channel.row(booking)
    assert ("notify.send", (channel.name, row.pk)) in handed


def test_a_message_queued_under_its_old_send_name_is_sent_once(channel):
    row = _queued_while_the_broker_was_down(channel)
    send, _, _ = OLD_NAMES[channel.name]
    # disable_sync_subtasks: an earlier test's in-process worker may leave Celery's "inside a task" flag set.
    assert app.tasks[send].apply(args=(row.pk,)).get(disable_sync_subtasks=False) == channel_get(channel.name).sent
    assert app.tasks[send].apply(args=(row.pk,)).get(disable_sync_subtasks=False) == "not_due"
    row.refresh_from_db()
    assert row.status == channel.done and len(channel.delivered()) == 1


def test_a_batch_queued_under_its_old_name_is_sent_once(channel):
    row = _queued_while_the_broker_was_down(channel)
    _, batch, _ = OLD_NAMES[channel.name]
    assert app.tasks[batch].apply(args=([row.pk, row.pk],)).get(disable_sync_subtasks=False) == 1
    assert len(channel.delivered()) == 1


def test_the_old_sweeps_and_the_new_one_hand_on_what_was_left(channel):
    row = _queued_while_the_broker_was_down(channel)
    channel_get(channel.name).model.objects.filter(pk=row.pk).update(updated_at=timezone.now() - timedelta(minutes=5))
    _, _, sweep = OLD_NAMES[channel.name]
    assert app.tasks[sweep].apply().get(disable_sync_subtasks=False) >= 1
    row.refresh_from_db()
    assert row.status == channel.done and len(channel.delivered()) == 1
    assert app.tasks["notify.sweep"].apply().get(disable_sync_subtasks=False) == 0  # nothing left, in any channel


def test_the_new_tasks_send_by_channel_name(channel):
    row = _queued_while_the_broker_was_down(channel)
    assert app.tasks["notify.send_batch"].apply(args=(channel.name, [row.pk])).get(disable_sync_subtasks=False) == 1
    assert app.tasks["notify.send"].apply(args=(channel.name, row.pk)).get(disable_sync_subtasks=False) == "not_due"
    assert len(channel.delivered()) == 1
