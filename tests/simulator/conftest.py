"""Shared by the simulator tests: the stream's invariants and a mid-sized community.

The community is generated once per session; ``check_stream`` is handed out
as a session fixture so that hypothesis tests can use it too.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest

from shequn.core import Event, EventType, Quote
from shequn.simulator import SimCommunity, SimConfig, simulate

#: Big enough for every arc and for the 80/20 rule, small enough to keep in memory.
MID = SimConfig(groups=8, members=2000, days=42, seed=7, end=date(2026, 11, 1))

CJK = re.compile(r"[\u4e00-\u9fff]")
#: Events that mean "this person is in this group right now".
PRESENCE = frozenset(
    {
        EventType.MESSAGE,
        EventType.REACTION,
        EventType.CHECKIN,
        EventType.READ,
        EventType.ATTEND,
        EventType.PURCHASE,
        EventType.MEMBER_UPDATE,
    }
)


def check_stream(community: SimCommunity, events: Iterable[Event]) -> int:
    """Assert the stream's invariants in one pass; returns the number of events.

    Order, unique ids, aware UTC times inside the window (joins may precede it),
    fields set as documented, nobody acting in a group they are not in, quotes
    and reactions pointing at earlier messages of the same group, kicks by staff.
    """
    cfg = community.config
    start, stop = community.window
    groups = {g.external_id: g for g in community.groups}
    people = {p.external_id: p for p in community.people}
    inside: set[tuple[str, str]] = set()
    seen_ids: set[str] = set()
    messages: dict[str, set[str]] = {g: set() for g in groups}
    last: datetime | None = None
    count = 0
    for e in events:
        count += 1
        where = f"{e.source_id} {e.type}"
        assert e.platform == cfg.platform and e.source == f"sim:{cfg.seed}", where
        assert e.source_id not in seen_ids, f"duplicate {where}"
        seen_ids.add(e.source_id)
        assert e.occurred_at.tzinfo is UTC, where
        assert last is None or e.occurred_at >= last, f"out of order at {where}"
        last = e.occurred_at
        assert e.occurred_at < stop, where
        if e.occurred_at < start:
            assert e.type is EventType.JOIN, f"only founding joins precede the window: {where}"
        group = groups[e.group]  # type: ignore[index]
        assert e.group_name == group.name, where
        assert e.actor in people and e.actor_name == people[e.actor].nickname, where
        key = (e.group, e.actor)
        if e.type is EventType.JOIN:
            assert key not in inside, f"joined twice without leaving: {where}"
            assert e.payload["role"] in ("owner", "admin", "member"), where
            role = (
                "owner" if e.actor == group.owner else "admin" if e.actor in group.admins else None
            )
            assert e.payload["role"] == (role or "member"), where
            assert e.payload["via"] and e.payload["entry_source"], where
            if "inviter" in e.payload:
                assert (e.group, e.payload["inviter"]) in inside, f"inviter not in group: {where}"
            inside.add(key)
            continue
        if e.type is EventType.LEAVE:
            assert key in inside, f"left without being in: {where}"
            inside.discard(key)
            kicker = e.payload.get("kicked_by")
            if kicker is not None:
                assert kicker == group.owner or kicker in group.admins, where
            continue
        assert e.type in PRESENCE, where
        assert key in inside, f"{e.actor} acts in {e.group} without being in it: {where}"
        if e.type is EventType.MESSAGE:
            assert e.message and e.payload["message_id"] == e.source_id, where
            for seg in e.message:
                if isinstance(seg, Quote):
                    assert seg.message_id in messages[e.group], f"dangling quote at {where}"
            messages[e.group].add(e.source_id)  # type: ignore[index]
        elif e.type is EventType.REACTION:
            assert e.payload["target"] in messages[e.group], f"reaction to nothing: {where}"
    return count


@dataclass
class Run:
    community: SimCommunity
    events: list[Event]


@pytest.fixture(scope="session")
def mid_run() -> Run:
    community = simulate(MID)
    return Run(community, list(community.events()))


@pytest.fixture(scope="session")
def stream_checker() -> Callable[[SimCommunity, Iterable[Event]], int]:
    return check_stream
