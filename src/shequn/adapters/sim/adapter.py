"""A bot account on the simulated platform."""

from __future__ import annotations

import asyncio

from shequn.adapters.base import (
    BaseAdapter,
    Bucket,
    Done,
    EventQueue,
    Limits,
    Outcome,
    Reconciled,
)
from shequn.adapters.sim.actions import CAPABILITIES, REPEATABLE
from shequn.adapters.sim.config import SimPlatformConfig
from shequn.adapters.sim.events import PLATFORM
from shequn.adapters.sim.world import SimWorld
from shequn.core import Action, Event


class SimAdapter(BaseAdapter):
    platform = PLATFORM
    capabilities = CAPABILITIES
    repeatable = REPEATABLE

    def __init__(self, config: SimPlatformConfig, world: SimWorld) -> None:
        super().__init__()
        self.config = config
        self.world = world
        self.account = config.account
        self.limits = Limits(
            per_group=Bucket.per_minute(config.per_group_per_minute)
            if config.per_group_per_minute
            else None,
            per_account=Bucket.per_second(config.per_account_per_second)
            if config.per_account_per_second
            else None,
        )
        self._groups = frozenset(config.groups)
        self.connected = False

    def _hear(self, event: Event) -> None:
        if not self._groups or event.group in self._groups:
            self._queue.put(event)

    async def connect(self) -> None:
        self._queue = EventQueue()  # what a previous connection left unread ended with it
        self.world.subscribe(self._hear)
        self.connected = True

    async def disconnect(self) -> None:
        self.world.unsubscribe(self._hear)
        self.connected = False
        self._queue.close()

    async def perform(self, action: Action) -> Done:
        self.require(action)
        if self.config.latency_ms:
            await asyncio.sleep(self.config.latency_ms / 1000)
        return self.world.apply(action, self.account)

    async def reconcile(self, action: Action) -> Reconciled:
        """The platform's journal says whether it happened: never a guess."""
        found = self.world.performed(action.key or "")
        if found is None:
            return Reconciled(Outcome.ABSENT)
        return Reconciled(Outcome.DONE, Done(platform_id=found.platform_id))
