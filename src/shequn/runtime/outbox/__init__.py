"""The outbox: durable actions waiting for the dispatcher."""

from shequn.runtime.outbox.enqueue import Pending, enqueue

__all__ = ["Pending", "enqueue"]
