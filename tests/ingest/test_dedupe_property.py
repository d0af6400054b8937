"""Property: however events are duplicated, shuffled and batched, each is stored once."""

from __future__ import annotations

import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from factories import event
from shequn.app import App
from shequn.core import EventType
from shequn.models import EventRow, Membership

TYPES = [EventType.MESSAGE, EventType.JOIN, EventType.LEAVE, EventType.REACTION]


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    specs=st.lists(
        st.tuples(st.sampled_from(TYPES), st.integers(0, 5)),
        min_size=1,
        max_size=30,
    ),
    order=st.randoms(use_true_random=False),
    copies=st.lists(st.integers(1, 3), min_size=30, max_size=30),
    batch_size=st.integers(1, 7),
    streaming=st.booleans(),
)
def test_any_interleaving_of_duplicates_stores_each_event_once(
    app: App, specs, order, copies, batch_size: int, streaming: bool
) -> None:
    source = f"prop-{uuid.uuid4().hex}"
    group = f"g-{source}"
    originals = [
        event(n, t, actor=f"u{actor}", group=group, source=source, reaction_target="x")
        for n, (t, actor) in enumerate(specs)
    ]
    stream = [e for e, k in zip(originals, copies, strict=False) for _ in range(k)]
    order.shuffle(stream)
    ingestor = app.ingestor(app.community("prop"), batch_size=batch_size)
    if streaming:
        stored = sum(ingestor.ingest(e).stored for e in stream)
    else:
        stored = ingestor.ingest_many(stream).stored
    assert stored == len(originals)
    with app.engine.connect() as conn:
        in_db = conn.execute(
            select(func.count()).select_from(EventRow).where(EventRow.source == source)
        ).scalar_one()
        numbers = (
            conn.execute(
                select(Membership.number)
                .join(EventRow, EventRow.group_id == Membership.group_id)
                .where(EventRow.source == source)
                .distinct()
            )
            .scalars()
            .all()
        )
    assert in_db == len(originals)
    actors = {e.actor for e in originals}
    assert sorted(numbers) == list(range(1, len(actors) + 1))
