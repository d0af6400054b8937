"""The pure parts of templates and replication: the pool's choice and watch, templates taken
and applied, source labels and the attribution of joins to visits."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from factories import START
from shequn.core import ActionType
from shequn.features.templates.pool import (
    CreateNext,
    MarkFull,
    PoolEntry,
    PoolError,
    Rearm,
    Reopen,
    Warn,
    check_place,
    next_name,
    pick,
    watch,
)
from shequn.features.templates.template import (
    RuleCopy,
    StaffSeat,
    Template,
    TemplateError,
    plan,
    snapshot,
)
from shequn.features.templates.visits import (
    InviteError,
    JoinRef,
    VisitRef,
    attribute,
    check_slug,
    clean_source,
    join_link,
)
from shequn.models.templates import PoolState

# --- the pool ---------------------------------------------------------------------------


@st.composite
def pools(draw: st.DrawFn) -> tuple[list[PoolEntry], dict[int, int]]:
    """A pool of up to 8 places in any stored order, and each group's seats."""
    n = draw(st.integers(1, 8))
    positions = draw(st.permutations(list(range(n))))
    entries, seats = [], {}
    for i in range(n):
        state = draw(st.sampled_from(list(PoolState)))
        has_group = state is not PoolState.CREATING and draw(st.booleans() | st.just(True))
        capacity = draw(st.integers(1, 20))
        entry = PoolEntry(
            id=i + 1,
            position=positions[i],
            capacity=capacity,
            state=state,
            group_id=100 + i if has_group else None,
            warn_ratio=draw(st.sampled_from([0.5, 0.7, 0.8, 0.9, 1.0])),
            warned=draw(st.booleans()),
            platform="sim",
            name=f"读书会{i + 1}群",
        )
        entries.append(entry)
        if has_group:
            seats[100 + i] = draw(st.integers(0, capacity + 3))
    return entries, seats


def _available(entry: PoolEntry, seats: dict[int, int]) -> bool:
    return (
        entry.state is PoolState.OPEN
        and entry.group_id is not None
        and seats.get(entry.group_id, 0) < entry.capacity
    )


@given(pools())
def test_pick_never_returns_a_full_group_and_takes_the_first_with_room(pool) -> None:
    entries, seats = pool
    chosen = pick(entries, seats)
    in_order = sorted(entries, key=lambda e: (e.position, e.id))
    if chosen is None:
        assert not any(_available(e, seats) for e in entries)
        return
    assert _available(chosen, seats)
    assert seats.get(chosen.group_id, 0) < chosen.capacity
    before = in_order[: in_order.index(chosen)]
    assert not any(_available(e, seats) for e in before)


@given(st.lists(st.integers(1, 6), min_size=1, max_size=6), st.integers(0, 40))
def test_newcomers_fill_the_groups_one_after_another(capacities: list[int], arrivals: int) -> None:
    entries = [
        PoolEntry(id=i + 1, position=i, capacity=c, group_id=10 + i)
        for i, c in enumerate(capacities)
    ]
    seats: dict[int, int] = {}
    sent: list[int] = []
    for _ in range(arrivals):
        chosen = pick(entries, seats)
        if chosen is None:
            assert arrivals > sum(capacities) - 1
            assert all(seats.get(e.group_id, 0) == e.capacity for e in entries)
            break
        seats[chosen.group_id] = seats.get(chosen.group_id, 0) + 1
        sent.append(chosen.position)
    assert sent == sorted(sent), "a later group is never used before an earlier one is full"
    for position in set(sent[:-1]):
        if sent[-1] != position:
            assert sent.count(position) == capacities[position]


@settings(max_examples=200)
@given(
    st.integers(1, 30),
    st.sampled_from([0.5, 0.7, 0.8, 0.9, 1.0]),
    st.lists(st.integers(-3, 3), max_size=40),
)
def test_watch_warns_exactly_once_per_crossing(
    capacity: int, ratio: float, moves: list[int]
) -> None:
    entry = PoolEntry(id=1, position=0, capacity=capacity, group_id=7, warn_ratio=ratio)
    # A second group with room, so the watch never asks for another.
    spare = PoolEntry(id=2, position=1, capacity=10**6, group_id=8)
    seats, history = 0, []
    warnings = 0
    for move in [0, *moves]:
        seats = max(0, seats + move)
        history.append(seats)
        for decision in watch([entry, spare], {7: seats, 8: 0}):
            assert not isinstance(decision, CreateNext)
            if isinstance(decision, Warn):
                warnings += 1
                entry = PoolEntry(**{**_fields(entry), "warned": True})
            elif isinstance(decision, Rearm):
                entry = PoolEntry(**{**_fields(entry), "warned": False})
            elif isinstance(decision, MarkFull):
                entry = PoolEntry(**{**_fields(entry), "state": PoolState.FULL})
            elif isinstance(decision, Reopen):
                entry = PoolEntry(**{**_fields(entry), "state": PoolState.OPEN})
        # Repeating the watch with nothing changed decides nothing more.
        assert not [d for d in watch([entry, spare], {7: seats, 8: 0})]
        assert entry.state is (PoolState.FULL if seats >= capacity else PoolState.OPEN)
    threshold = entry.threshold
    crossings = sum(
        1
        for i, n in enumerate(history)
        if n >= threshold and (i == 0 or history[i - 1] < threshold)
    )
    assert warnings == crossings


def _fields(entry: PoolEntry) -> dict:
    return {name: getattr(entry, name) for name in PoolEntry.__slots__}


def test_the_threshold_is_the_share_of_capacity_rounded_up() -> None:
    assert PoolEntry(id=1, position=0, capacity=10, warn_ratio=0.7).threshold == 7
    assert PoolEntry(id=1, position=0, capacity=10, warn_ratio=0.75).threshold == 8
    assert PoolEntry(id=1, position=0, capacity=500, warn_ratio=0.9).threshold == 450
    assert PoolEntry(id=1, position=0, capacity=1, warn_ratio=0.1).threshold == 1


def test_the_next_group_is_asked_for_once_when_none_has_room() -> None:
    full = PoolEntry(
        id=1,
        position=0,
        capacity=2,
        state=PoolState.FULL,
        group_id=1,
        warned=True,
        platform="matrix",
        name="读书会1群",
        template_id=4,
    )
    filling = PoolEntry(
        id=2,
        position=1,
        capacity=3,
        group_id=2,
        warn_ratio=0.6,
        platform="matrix",
        name="读书会2群",
    )
    assert watch([full, filling], {1: 2, 2: 2}) == [Warn(filling, 2)]
    decisions = watch([full, filling], {1: 2, 2: 3})
    assert decisions[:2] == [Warn(filling, 3), MarkFull(filling, 3)]
    warned = PoolEntry(**{**_fields(filling), "warned": True})
    assert watch([full, warned], {1: 2, 2: 2}) == [], "warned once while above the threshold"
    assert decisions[2] == CreateNext(filling, "读书会3群", 2, 4)
    creating = PoolEntry(
        id=3, position=2, capacity=3, state=PoolState.CREATING, platform="matrix", name="读书会3群"
    )
    settled = [full, PoolEntry(**{**_fields(filling), "state": PoolState.FULL, "warned": True})]
    assert watch([*settled, creating], {1: 2, 2: 3}) == []
    # A member leaves the full group: it takes newcomers again, nothing is created.
    assert watch(settled, {1: 1, 2: 3}) == [Rearm(full), Reopen(full, 1)]
    # Nothing to model the next group on: nothing is asked for.
    assert watch([creating], {}) == []


@pytest.mark.parametrize(
    ("name", "taken", "expected"),
    [
        ("读书会3群", (), "读书会4群"),
        ("Readers", (), "Readers 2"),
        ("Readers", ("Readers 2",), "Readers 3"),
        ("Group 09", (), "Group 10"),
        ("2024读书会", (), "2024读书会 2"),
        ("  ", (), "group 2"),
    ],
)
def test_next_names_count_on(name: str, taken: tuple[str, ...], expected: str) -> None:
    assert next_name(name, taken) == expected


@pytest.mark.parametrize(
    ("settings_", "message"),
    [
        ({"capacity": 0, "warn_ratio": 0.9}, "capacity must be between 1"),
        ({"capacity": True, "warn_ratio": 0.9}, "capacity must be a whole number"),
        ({"capacity": 10, "warn_ratio": 0}, "warn_ratio must be above 0"),
        ({"capacity": 10, "warn_ratio": 1.5}, "warn_ratio must be above 0"),
        ({"capacity": 10, "warn_ratio": 0.9, "join_url": "javascript:alert(1)"}, "http"),
        ({"capacity": 10, "warn_ratio": 0.9, "join_url": "https://a b"}, "without spaces"),
        ({"capacity": 10, "warn_ratio": 0.9, "join_note": "x" * 2001}, "join_note"),
    ],
)
def test_a_pool_place_that_cannot_work_is_refused(settings_: dict, message: str) -> None:
    with pytest.raises(PoolError, match=message):
        check_place(**settings_)


# --- templates --------------------------------------------------------------------------

WELCOME = RuleCopy("welcome", "欢迎", {"text": "欢迎 {name}"})
FAQ = RuleCopy("autoreply", "报名", {"kind": "contains", "patterns": ["报名"], "reply": "见公告"})


def test_a_snapshot_keeps_staff_only_and_owners_come_back_as_admins() -> None:
    template = snapshot(
        [FAQ, WELCOME],
        [
            StaffSeat("sim", "u-owner", "owner"),
            StaffSeat("sim", "u-admin", "admin", "班长"),
            StaffSeat("sim", "u-member", "member"),
            StaffSeat("sim", "u-helper", "member", "字幕侠"),
        ],
        [{"name": "早安", "when": "weekdays 08:30"}],
    )
    assert [(s.user, s.role, s.title) for s in template.roles] == [
        ("u-admin", "admin", "班长"),
        ("u-helper", "member", "字幕侠"),
        ("u-owner", "admin", ""),
    ]
    assert Template.from_dict(template.to_dict()) == template


def test_a_bad_template_names_every_problem_in_both_languages() -> None:
    with pytest.raises(TemplateError) as refused:
        Template.from_dict(
            {
                "rules": [
                    {"kind": "", "name": "x", "config": {}},
                    {"kind": "welcome", "name": "a", "config": []},
                    {"kind": "welcome", "name": "b", "config": {}, "enabled": "yes"},
                ],
                "roles": [
                    {"platform": "sim", "user": "u1", "role": "owner"},
                    {"platform": "sim", "user": "u2", "title": "x" * 65},
                ],
                "schedules": ["08:30"],
                "colour": "red",
            }
        )
    lines = refused.value.lines("en")
    assert len(lines) == 7
    assert "unknown fields: colour" in lines
    assert "rules[0].kind must be text of 1 to 24 characters" in lines
    assert "rules[1].config must be an object" in lines
    assert "rules[2].enabled must be true or false" in lines
    assert "roles[0].role must be admin or member, not 'owner'" in lines
    assert "roles[1].title must be text of at most 64 characters" in lines
    assert "schedules[0] must be an object" in lines
    assert "未知字段：colour" in refused.value.lines("zh-CN")


def test_applying_skips_what_the_group_has_and_gives_staff_their_roles_back() -> None:
    template = Template(
        rules=(FAQ, WELCOME, RuleCopy("moderation", "广告", {"kind": "link"})),
        roles=(
            StaffSeat("sim", "bot", "admin"),
            StaffSeat("sim", "u1", "admin", "班长"),
            StaffSeat("sim", "u2", "member", "字幕侠"),
            StaffSeat("matrix", "@u3:example.org", "admin"),
        ),
    )
    steps = plan(
        template,
        platform="sim",
        group="new7",
        key="pool:3:template:9",
        existing={("autoreply", "报名"), ("welcome", "老欢迎")},
        one_per_group={"welcome", "admission"},
        creator="bot",
    )
    assert [r.name for r in steps.copy] == ["广告"]
    assert [r.name for r in steps.skipped] == ["报名", "欢迎"]
    assert [(a.type, a.user, dict(a.params)) for a in steps.actions] == [
        (ActionType.INVITE, "u1", {}),
        (ActionType.SET_ROLE, "u1", {"role": "admin"}),
        (ActionType.SET_TITLE, "u1", {"title": "班长"}),
        (ActionType.INVITE, "u2", {}),
        (ActionType.SET_TITLE, "u2", {"title": "字幕侠"}),
    ]
    assert all(a.group == "new7" and a.platform == "sim" for a in steps.actions)
    keys = [a.key for a in steps.actions]
    assert len(set(keys)) == len(keys) and all(k.startswith("pool:3:template:9:") for k in keys)


# --- visits -----------------------------------------------------------------------------


def test_source_labels_are_kept_as_text_but_hidden_characters_are_refused() -> None:
    assert clean_source(None) == ""
    assert clean_source("  海报-2025春 ") == "海报-2025春"
    assert clean_source("<script>alert(1)</script>") == "<script>alert(1)</script>"
    assert clean_source("ｐｏｓｔｅｒ") == "poster"  # full-width folded
    with pytest.raises(InviteError, match=r"src: at most 64 characters, not 65"):
        clean_source("x" * 65)
    with pytest.raises(InviteError, match=r"U\+202E"):
        clean_source("evil\u202etxt")
    with pytest.raises(InviteError, match=r"U\+0000"):
        clean_source("a\x00b")


def test_slugs_and_join_links() -> None:
    assert check_slug("shanghai-readers") == "shanghai-readers"
    for bad in ("A", "-x", "x", "has space", "x" * 65, "读书会"):
        with pytest.raises(InviteError, match="slug"):
            check_slug(bad)
    assert (
        join_link("https://t.me/bot?start={token}", "a/b c") == "https://t.me/bot?start=a%2Fb%20c"
    )
    assert join_link("https://matrix.to/#/!r:x", "tok") == "https://matrix.to/#/!r:x"


def _visit(n: int, minutes: int, group: int | None = 5, member: int | None = None) -> VisitRef:
    return VisitRef(n, f"tok{n}", group, START + timedelta(minutes=minutes), member)


def test_a_join_goes_to_its_token_else_to_the_latest_visit_of_the_hour() -> None:
    visits = [_visit(1, 0), _visit(2, 30), _visit(3, 50, group=6), _visit(4, 55, member=9)]
    at = START + timedelta(minutes=60)
    assert attribute(JoinRef(5, 1, at), visits).id == 2
    assert attribute(JoinRef(5, 1, at, ("tok3",)), visits).id == 3, "the token wins"
    assert attribute(JoinRef(6, 1, at), visits).id == 3
    late = START + timedelta(minutes=100)
    assert attribute(JoinRef(5, 1, late), visits) is None, "an hour has passed"
    assert attribute(JoinRef(5, 9, at), visits) is None, "already brought into this group"
    early = START - timedelta(minutes=4)
    assert attribute(JoinRef(5, 1, early), visits).id == 1, "five minutes of clock skew"
    assert attribute(JoinRef(5, 1, START - timedelta(minutes=6)), visits) is None
