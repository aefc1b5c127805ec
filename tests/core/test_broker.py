"""Celery publishes to Redis through kombu's transport with one client per channel (core/broker.py)."""

from django.conf import settings

from celery_app import app
from core import broker


def test_the_redis_broker_uses_the_channel_that_keeps_its_client():
    assert settings.CELERY_BROKER_TRANSPORT == "core.broker:Transport"
    with app.connection_for_write() as connection:
        channel = connection.default_channel
        assert isinstance(channel, broker.Channel)
        with channel.conn_or_acquire() as first, channel.conn_or_acquire() as second:
            assert first is second


def test_messages_published_through_it_arrive_in_order_and_a_closed_channel_drops_its_client():
    queue = "frontroom-test-broker"
    with app.connection_for_write() as connection:
        channel = connection.channel()
        client = channel.client
        client.delete(queue)
        producer = connection.Producer(channel)
        for n in range(3):
            producer.publish({"n": n}, routing_key=queue, exchange="", serializer="json")
        received = [channel.basic_get(queue, no_ack=True).decode() for _ in range(3)]
        assert received == [{"n": 0}, {"n": 1}, {"n": 2}]
        assert client.llen(queue) == 0
        channel.close()
        assert channel._publish_client is None


def test_closing_a_connection_whose_transport_is_gone_raises_nothing_and_keeps_unacked_messages():
    # After a lost broker kombu may close a connection twice; the second close restored unacked messages
    # through a client built from the dropped connection and killed the worker with an AttributeError.
    queue = "frontroom-test-broker-unacked"
    connection = app.connection_for_read()
    channel = connection.default_channel
    redis_client = channel.client
    redis_client.delete(queue)
    connection.Producer(channel).publish({"n": 1}, routing_key=queue, exchange="", serializer="json")
    message = channel.basic_get(queue, no_ack=False)
    assert message is not None and list(channel.qos._delivered)
    unacked_key = channel.unacked_key
    try:
        connection._do_close_transport()
        connection.release()  # raised AttributeError before
        assert redis_client.hexists(unacked_key, message.delivery_tag)
    finally:
        redis_client.hdel(unacked_key, message.delivery_tag)
        redis_client.zrem(channel.unacked_index_key, message.delivery_tag)
