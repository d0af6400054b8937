"""The outbox: durable actions waiting for the dispatcher."""

from shequn.features.outbox import Pending, enqueue

__all__ = ["Pending", "enqueue"]
