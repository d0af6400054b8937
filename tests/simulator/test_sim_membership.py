"""Who is in which group: realistic sizes, cross-group members, leaves, kicks and returns."""

from __future__ import annotations

from collections import Counter, defaultdict

from shequn.core import EventType
from shequn.simulator import SimConfig, simulate
from shequn.simulator.vocabulary import JOIN_SOURCES


def test_every_person_is_in_some_group(mid_run) -> None:
    joined = {e.actor for e in mid_run.events if e.type is EventType.JOIN}
    assert joined == {p.external_id for p in mid_run.community.people}


def test_groups_have_realistic_sizes_and_some_people_share_groups(mid_run) -> None:
    members: dict[str, set[str]] = defaultdict(set)
    for e in mid_run.events:
        if e.type is EventType.JOIN:
            members[e.group].add(e.actor)
    sizes = sorted(len(m) for m in members.values())
    assert all(100 <= s <= 500 for s in sizes), sizes
    assert sum(150 <= s <= 450 for s in sizes) >= 0.75 * len(sizes), sizes
    for g in mid_run.community.groups:
        assert len(members[g.external_id]) <= g.capacity
    per_person = Counter(actor for m in members.values() for actor in m)
    staff = {p for g in mid_run.community.groups for p in (g.owner, *g.admins)}
    spread = Counter(n for actor, n in per_person.items() if actor not in staff)
    total = sum(spread.values())
    assert 0.6 < spread[1] / total < 0.9
    assert spread[2] > 0 and spread[3] > 0 and max(spread) <= 3


def test_joins_say_how_and_from_where(mid_run) -> None:
    joins = [e for e in mid_run.events if e.type is EventType.JOIN]
    vias = Counter(e.payload["via"] for e in joins)
    assert {"invite", "qrcode", "link", "request"} <= set(vias)
    known = {s for sources in JOIN_SOURCES.values() for s in sources} | {"建群"}
    assert {e.payload["entry_source"] for e in joins} <= known
    roles = Counter(e.payload["role"] for e in joins)
    assert roles["owner"] == len(mid_run.community.groups)
    assert roles["admin"] == sum(len(g.admins) for g in mid_run.community.groups)


def test_members_leave_some_are_kicked_some_return(mid_run) -> None:
    leaves = [e for e in mid_run.events if e.type is EventType.LEAVE]
    kicked = [e for e in leaves if "kicked_by" in e.payload]
    assert len(leaves) > 50
    assert 0 < len(kicked) < 0.5 * len(leaves)
    left: set[tuple[str, str]] = set()
    returned = 0
    for e in mid_run.events:
        key = (e.group, e.actor)
        if e.type is EventType.LEAVE:
            left.add(key)
        elif e.type is EventType.JOIN and key in left:
            returned += 1
    assert returned > 0


def test_spammers_post_an_ad_and_are_kicked_within_hours(mid_run) -> None:
    joined_at = {}
    spam = 0
    for e in mid_run.events:
        key = (e.group, e.actor)
        if e.type is EventType.JOIN:
            joined_at[key] = e.occurred_at
        elif e.type is EventType.MESSAGE and "example.com/promo/" in e.text:
            spam += 1
            assert (e.occurred_at - joined_at[key]).total_seconds() < 3 * 3600
    assert spam > 0


def test_a_tiny_community_still_works() -> None:
    community = simulate(SimConfig(groups=3, members=2, days=3))
    events = list(community.events())
    assert {e.actor for e in events if e.type is EventType.JOIN} == {"u00000", "u00001"}
    assert all(g.owner == "u00000" for g in community.groups)
