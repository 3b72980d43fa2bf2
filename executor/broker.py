"""Kombu's Redis transport, with consumers that take messages unacknowledged left so.

The synchronous queue is consumed with no_ack (its callers give up on their own if a worker
dies), and Kombu then keeps no record of its messages. But its Redis channel never tells
the message that: Celery's acknowledgement still goes to Redis, creating a client and
running a MULTI/EXEC to remove a record that does not exist, which cost a quarter of the
worker's interpreter time. Registering no_ack consumers and tagging their messages with
the consumer, as AMQP deliveries are, makes that acknowledgement return at once.
"""
from __future__ import annotations

from kombu.transport import redis


class Channel(redis.Channel):
    def basic_consume(self, queue, no_ack, callback, consumer_tag, **kwargs):
        if no_ack:
            if self.no_ack_consumers is None:
                self.no_ack_consumers = set()
            self.no_ack_consumers.add(consumer_tag)
            deliver = callback

            def callback(message):
                # What Message.ack looks for, as AMQP's deliveries carry it.
                message.delivery_info["consumer_tag"] = consumer_tag
                return deliver(message)

        return super().basic_consume(queue, no_ack, callback, consumer_tag, **kwargs)

    def basic_cancel(self, consumer_tag):
        if self.no_ack_consumers is not None:
            self.no_ack_consumers.discard(consumer_tag)
        return super().basic_cancel(consumer_tag)


class Transport(redis.Transport):
    Channel = Channel
