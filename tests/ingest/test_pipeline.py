"""The ingest pipeline against real SQLite and PostgreSQL: dedupe, atomic batches, outbox."""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from factories import event
from shequn.app import App
from shequn.core import Action, ActionType, EventType, Message, StoredEvent
from shequn.features.community.membership import MembershipProcessor
from shequn.features.processor import stateless
from shequn.kit.errors import InvalidEvent
from shequn.models import EventRow, Group, Identity, Member, Membership, OutboxRow


def count(app: App, table) -> int:
    with app.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def echo(stored: StoredEvent) -> Iterable[Action]:
    """A processor that answers every message in its group."""
    if stored.event.type is EventType.MESSAGE:
        yield Action(
            ActionType.SEND_MESSAGE,
            platform=stored.event.platform,
            group=stored.event.group,
            message=Message.of("收到: ", stored.event.text),
        )


def test_each_event_is_stored_once_across_batches_and_modes(app: App) -> None:
    ingestor = app.ingestor(app.community("c"), batch_size=3)
    events = [event(n, actor=f"u{n % 4}") for n in range(10)]
    first = ingestor.ingest_many(events + events[:4])
    assert (first.received, first.stored, first.duplicates) == (14, 10, 4)
    again = ingestor.ingest_many(reversed(events))
    assert (again.stored, again.duplicates) == (0, 10)
    assert ingestor.ingest(events[5]).stored == 0
    assert count(app, EventRow) == 10


def test_groups_identities_and_members_are_created_once(app: App) -> None:
    ingestor = app.ingestor(app.community("c"))
    ingestor.ingest_many([event(n, group=f"g{n % 2}", actor=f"u{n % 3}") for n in range(12)])
    ingestor.ingest(event(100, group="g9", actor="u0"))
    assert count(app, Group) == 3
    assert count(app, Identity) == count(app, Member) == 3
    with app.engine.connect() as conn:
        names = set(conn.execute(select(Group.name)).scalars())
        assert names == {"g0群", "g1群", "g9群"}
    with Session(app.engine) as session:
        stored = session.scalars(select(EventRow).where(EventRow.source_id == "100")).one()
        assert stored.text == "消息 100"
        assert stored.payload["message"] == [{"kind": "text", "text": "消息 100"}]
        assert stored.occurred_at.tzinfo is not None


def test_actions_are_written_to_the_outbox_once_per_cause(app: App) -> None:
    ingestor = app.ingestor(app.community("c"), [stateless("echo", echo)])
    events = [event(n) for n in range(5)] + [event(9, EventType.JOIN)]
    assert ingestor.ingest_many(events).actions == 5
    assert ingestor.ingest_many(events).actions == 0
    with Session(app.engine) as session:
        rows = session.scalars(select(OutboxRow).order_by(OutboxRow.id)).all()
    assert [r.idempotency_key for r in rows] == [f"test:{n}:echo:0" for n in range(5)]
    action = Action.from_dict(rows[0].action)
    assert action.type is ActionType.SEND_MESSAGE and action.group == "g1"
    assert action.message and action.message.plain_text() == "收到: 消息 0"
    assert all(r.status == "pending" and r.event_id is not None for r in rows)


def test_a_failing_processor_leaves_nothing_of_its_batch(app: App) -> None:
    def explode(stored: StoredEvent) -> Iterable[Action]:
        if stored.event.source_id == "7":
            raise RuntimeError("processor bug")
        return echo(stored)

    processors = [MembershipProcessor(), stateless("explode", explode)]
    ingestor = app.ingestor(app.community("c"), processors, batch_size=5)
    with pytest.raises(RuntimeError, match="processor bug"):
        ingestor.ingest_many([event(n, actor=f"u{n}") for n in range(10)])
    # The first batch (0–4) committed whole; the second (5–9) left no trace.
    assert count(app, EventRow) == 5
    assert count(app, OutboxRow) == 5
    assert count(app, Identity) == 5
    assert count(app, Membership) == 5


def test_an_invalid_event_refuses_its_batch_before_any_write(app: App) -> None:
    ingestor = app.ingestor(app.community("c"))
    bad = event(3, EventType.JOIN, actor=None)
    with pytest.raises(InvalidEvent, match=r"'test'/'3'.*actor is required"):
        ingestor.ingest_many([event(1), event(2), bad])
    assert count(app, EventRow) == 0
    assert count(app, Group) == 0


def test_hostile_text_is_stored_verbatim_and_parameterised(app: App) -> None:
    ingestor = app.ingestor(app.community("c"))
    hostile = "'); DROP TABLE event; -- <script>alert(1)</script> \u202e" + "长" * 10_000
    ingestor.ingest(event(1, text=hostile + "\x00", actor="x'; DELETE FROM member; --"))
    with app.engine.connect() as conn:
        row = conn.execute(select(EventRow.text, EventRow.identity_id)).one()
        ext = conn.execute(select(Identity.external_id)).scalar_one()
    assert row.text == hostile
    assert ext == "x'; DELETE FROM member; --"
    assert count(app, EventRow) == 1
