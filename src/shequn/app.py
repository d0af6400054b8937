"""The composition root: the one place that builds settings, database and pipeline.

Everything else receives what it needs as arguments; nothing reaches for a
global. The CLI, the web app (later) and the tests all start here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from shequn.adapters.sim import SimWorld
from shequn.config import Settings, load_settings
from shequn.core import ActionType
from shequn.db.engine import WRITE, make_engine
from shequn.db.migrate import require_current, upgrade
from shequn.features.admission.processor import AdmissionProcessor
from shequn.features.admission.ticker import AdmissionTicker
from shequn.features.analytics.rollup.processor import RollupProcessor
from shequn.features.autoreply.processor import AutoReplyProcessor
from shequn.features.broadcast.ticker import BroadcastTicker
from shequn.features.commands.processor import CommandsProcessor
from shequn.features.community.membership import MembershipProcessor
from shequn.features.community.setup import CommunityRef, ensure_community
from shequn.features.moderation.processor import ModerationProcessor
from shequn.features.moderation.ticker import WindowTicker
from shequn.features.processor import Processor
from shequn.features.templates.processor import InviteAttributionProcessor
from shequn.features.templates.ticker import PoolTicker
from shequn.features.ticker import Ticker
from shequn.kit.clock import Clock, SystemClock
from shequn.runtime.bot import BotRuntime
from shequn.runtime.ingest import Ingestor
from shequn.runtime.outbox.dispatcher import DispatchSettings
from shequn.runtime.registry import build_entries
from shequn.runtime.sim_world import seed_world

#: What each platform's adapter can do, by platform: admission sets name cards only where
#: the platform lets the bot.
Capabilities = Mapping[str, frozenset[ActionType]]


def live_processors(
    *, lang: str = "zh-CN", capabilities: Capabilities | None = None
) -> list[Processor[Any]]:
    """What runs on events the bots hear: the stored state, then the features that act.
    Moderation goes first, so a message it acted on gets no auto-reply."""
    moderation = ModerationProcessor(lang=lang)
    return [
        *default_processors(),
        InviteAttributionProcessor(),
        moderation,
        AdmissionProcessor(lang=lang, capabilities=capabilities, skip=moderation.handled),
        CommandsProcessor(lang=lang),
        AutoReplyProcessor(skip=moderation.handled),
    ]


def live_tickers(*, lang: str = "zh-CN", capabilities: Capabilities | None = None) -> list[Ticker]:
    """What the bot runtime asks, every few seconds, for work that falls due with time."""
    return [
        WindowTicker(lang=lang),
        AdmissionTicker(lang=lang, capabilities=capabilities),
        PoolTicker(lang=lang, capabilities=capabilities),
        BroadcastTicker(),
    ]


def default_processors() -> list[Processor[Any]]:
    """The processors every ingest runs, in order: seats first, so the rollups see
    the joins of the same batch."""
    return [MembershipProcessor(), RollupProcessor()]


@dataclass
class App:
    settings: Settings
    engine: Engine
    clock: Clock = field(default_factory=SystemClock)

    @classmethod
    def create(cls, settings: Settings | None = None, *, clock: Clock | None = None) -> App:
        settings = settings or load_settings()
        engine = make_engine(settings.database_url, echo=settings.echo_sql)
        return cls(settings=settings, engine=engine, clock=clock or SystemClock())

    def migrate(self) -> None:
        upgrade(self.engine)

    def check_schema(self) -> None:
        require_current(self.engine)

    def community(self, name: str, *, timezone: str | None = None) -> CommunityRef:
        with self.engine.connect() as conn:
            conn.execution_options(**WRITE)
            with conn.begin():
                return ensure_community(
                    conn, name, now=self.clock.now(), timezone=timezone or self.settings.timezone
                )

    def ingestor(
        self,
        community: CommunityRef,
        processors: Sequence[Processor[Any]] | None = None,
        *,
        batch_size: int | None = None,
    ) -> Ingestor:
        return Ingestor(
            self.engine,
            community,
            default_processors() if processors is None else processors,
            batch_size=batch_size or self.settings.ingest_batch_size,
            clock=self.clock,
        )

    def bot_runtime(
        self,
        adapters: Sequence[Mapping[str, Any]] | None = None,
        *,
        world: SimWorld | None = None,
        dispatch: DispatchSettings | None = None,
    ) -> BotRuntime:
        """The bot runtime over the configured adapters (or ``adapters``). Sim adapters
        share one simulated platform, populated from the database's sim groups."""
        tables = list(self.settings.adapters if adapters is None else adapters)
        if world is None and any(t.get("kind") == "sim" for t in tables):
            world = SimWorld(self.clock)
        entries = build_entries(tables, lambda name: self.community(name), world=world)
        if world is not None:
            with self.engine.connect() as conn:
                for cid in sorted({e.community.community_id for e in entries}):
                    seed_world(conn, world, cid)
        lang = self.settings.locale
        can = {e.adapter.platform: frozenset(e.adapter.capabilities) for e in entries}
        return BotRuntime(
            self.engine,
            entries,
            lambda ref: self.ingestor(ref, live_processors(lang=lang, capabilities=can)),
            clock=self.clock,
            dispatch=dispatch,
            world=world,
            tickers=live_tickers(lang=lang, capabilities=can),
        )

    def close(self) -> None:
        self.engine.dispose()
