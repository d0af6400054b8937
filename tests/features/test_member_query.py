"""The member list's filter: pure normalisation, and the queries on both databases."""

from __future__ import annotations

import re
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select, update

from factories import START, event
from shequn.app import App
from shequn.config import Settings
from shequn.core import EventType
from shequn.features.community import members as queries
from shequn.features.community.member_filter import (
    LIKE_ESCAPE,
    Activity,
    has_control,
    like_pattern,
    make_filter,
    search_text,
)
from shequn.kit.clock import FrozenClock
from shequn.models import EventRow, Identity, Member


def _like_to_regex(pattern: str) -> re.Pattern[str]:
    """What a LIKE pattern with ``LIKE_ESCAPE`` matches, as a regular expression."""
    out, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == LIKE_ESCAPE:
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
        i += 1
    return re.compile("".join(out), re.DOTALL)


@given(st.text(min_size=1, max_size=20), st.text(max_size=10), st.text(max_size=10))
def test_like_pattern_matches_the_text_literally(needle: str, before: str, after: str) -> None:
    regex = _like_to_regex(like_pattern(needle))
    assert regex.fullmatch(before + needle + after)


@given(st.text(alphabet="ab%_\\", min_size=1, max_size=8), st.text(alphabet="ab", max_size=8))
def test_wildcards_in_the_text_match_only_themselves(needle: str, hay: str) -> None:
    regex = _like_to_regex(like_pattern(needle))
    assert bool(regex.fullmatch(hay)) == (needle in hay)


@given(st.text(max_size=300))
def test_search_text_is_short_and_storable(q: str) -> None:
    text = search_text(q)
    assert len(text) <= 200
    assert "\x00" not in text and not has_control(text)


def test_filters_refuse_unknown_choices() -> None:
    with pytest.raises(ValueError):
        make_filter(role="king")
    with pytest.raises(ValueError):
        make_filter(activity="sometimes")
    flt = make_filter(q="  ", group_id=0, role="", activity="never")
    assert flt.q is None and flt.group_id is None and flt.activity is Activity.NEVER
    assert flt.as_dict() == {"activity": "never"}


def _members(app: App) -> dict[str, int]:
    with app.engine.connect() as conn:
        return dict(conn.execute(select(Identity.external_id, Identity.member_id)).all())


def _ids(app: App, **flt: object) -> set[int]:
    with app.engine.connect() as conn:
        page = queries.list_members(
            conn, 1, make_filter(**flt), now=START + timedelta(days=40), limit=200
        )
    return {r.id for r in page.rows}


def test_search_takes_percent_and_underscore_literally(app: App) -> None:
    app.ingestor(app.community("c")).ingest_many(
        [
            event(1, actor="a").with_(actor_name="100%_sure"),
            event(2, actor="b").with_(actor_name="100 sure"),
            event(3, actor="c").with_(actor_name="1000sure"),
            event(4, actor="d").with_(actor_name="A_B\\C"),
        ]
    )
    ids = _members(app)
    assert _ids(app, q="%") == {ids["a"]}
    assert _ids(app, q="_") == {ids["a"], ids["d"]}
    assert _ids(app, q="0%_s") == {ids["a"]}
    assert _ids(app, q="\\") == {ids["d"]}
    assert _ids(app, q="sure") == {ids["a"], ids["b"], ids["c"]}
    assert _ids(app, q="a_b") == {ids["d"]}, "case does not matter"


def test_search_finds_card_names_and_account_ids(app: App) -> None:
    app.ingestor(app.community("c")).ingest_many(
        [
            event(1, actor="wx-777").with_(actor_name="甲"),
            event(2, EventType.MEMBER_UPDATE, actor="qq-1", card="班长·小李"),
        ]
    )
    ids = _members(app)
    assert _ids(app, q="wx-77") == {ids["wx-777"]}
    assert _ids(app, q="班长") == {ids["qq-1"]}


def test_activity_windows_and_merged_members(app: App) -> None:
    now = START + timedelta(days=40)
    app.ingestor(app.community("c")).ingest_many(
        [
            event(1, actor="old", at=now - timedelta(days=35)),
            event(2, actor="month", at=now - timedelta(days=20)),
            event(3, actor="week", at=now - timedelta(days=2)),
            event(4, EventType.JOIN, actor="lurker", at=now - timedelta(days=3)),
        ]
    )
    ids = _members(app)
    assert _ids(app, activity="active7") == {ids["week"]}
    assert _ids(app, activity="active30") == {ids["week"], ids["month"]}
    assert _ids(app, activity="silent30") == {ids["old"]}
    assert _ids(app, activity="never") == {ids["lurker"]}
    with app.engine.begin() as conn:
        conn.execute(
            update(Member.__table__)
            .where(Member.__table__.c.id == ids["old"])
            .values(merged_into_id=ids["week"])
        )
    assert ids["old"] not in _ids(app)


def test_timeline_walks_newest_first_across_identities(app: App) -> None:
    app.ingestor(app.community("c")).ingest_many(
        [event(n, actor="a" if n % 2 else "b", text=f"m{n}") for n in range(1, 12)]
    )
    ids = _members(app)
    with app.engine.begin() as conn:
        conn.execute(
            update(Identity.__table__)
            .where(Identity.__table__.c.external_id == "b")
            .values(member_id=ids["a"])
        )
    seen: list[str] = []
    before = None
    with app.engine.connect() as conn:
        while True:
            page = queries.timeline(conn, ids["a"], before=before, limit=4)
            seen += [i.text or "" for i in page.items]
            if page.next_before is None:
                break
            before = page.next_before
    assert seen == [f"m{n}" for n in range(11, 0, -1)]


@pytest.mark.parametrize(
    "flt",
    [{}, {"group_id": 1}, {"tag_id": 1}, {"role": "admin"}, {"activity": "never"}, {"q": "x"}],
)
def test_the_list_and_timeline_plans_use_their_indexes(
    tmp_path: Path, sqlite_template: Path, clock: FrozenClock, flt: dict[str, object]
) -> None:
    """Plans on SQLite only (PostgreSQL's depend on statistics an empty test table lacks;
    they were read on 100,000 members): the page walks members in id order without
    sorting them, no filter scans a table once per member, and the timeline reads the
    (identity, time) index."""
    shutil.copy(sqlite_template, tmp_path / "plans.db")
    app = App.create(Settings(database_url=f"sqlite:///{tmp_path / 'plans.db'}"), clock=clock)
    app.ingestor(app.community("c")).ingest_many([event(1, actor="a")])
    conds = queries.filter_conditions(
        make_filter(**flt), 1, now=START, dialect=app.engine.dialect.name
    )
    page = select(Member.__table__.c.id).where(*conds).order_by(Member.__table__.c.id).limit(51)
    with app.engine.connect() as conn:
        plan = _plan(conn, page)
        assert "TEMP B-TREE FOR ORDER BY" not in plan
        lines = plan.splitlines()
        for line, after in zip(lines, lines[1:], strict=False):
            if line.startswith("CORRELATED"):
                assert not after.startswith("SCAN"), f"a scan per member:\n{plan}"
        timeline = (
            select(EventRow.id)
            .where(EventRow.identity_id == 1)
            .order_by(EventRow.occurred_at.desc(), EventRow.id.desc())
            .limit(51)
        )
        assert "ix_event_identity_id_occurred_at" in _plan(conn, timeline)
    app.close()


def _plan(conn: object, query: object) -> str:
    sql = str(query.compile(conn.engine, compile_kwargs={"literal_binds": True}))  # type: ignore[attr-defined]
    rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql).all()  # type: ignore[attr-defined]
    return "\n".join(r[-1] for r in rows)
