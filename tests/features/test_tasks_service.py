"""The operator inbox's store: tasks opened once per notice, paged open-first, closed and
reopened with the state checked in the update; and the task kind read from a notice."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shequn.app import App
from shequn.core import Action, ActionType, Message
from shequn.features.tasks import kinds
from shequn.features.tasks import service as inbox


def notice(key: str, **params: Any) -> Action:
    return Action(
        ActionType.NOTIFY_OPERATOR, message=Message.of(f"通知 {key}"), params=params, key=key
    )


def opened(app: App, cid: int, *keys: str) -> list[int]:
    made = []
    for key in keys:
        with app.engine.begin() as conn:
            made.append(inbox.open_task(conn, cid, notice(key), key=key, now=app.clock.now()))
        app.clock.advance(timedelta(minutes=1))
    return made


def test_a_notice_opens_one_task_per_key(app: App) -> None:
    cid = app.community("c").community_id
    first, again = opened(app, cid, "k", "k")
    assert first == again
    with app.engine.connect() as conn:
        (task,) = inbox.task_rows(conn, cid)
        assert inbox.count_open(conn, cid) == 1
    assert (task.text, task.kind, task.platform, task.group_id) == ("通知 k", "notice", None, None)
    with app.engine.begin() as conn, pytest.raises(inbox.TaskError, match="notify_operator"):
        action = Action(ActionType.ADD_TAG, member_id=1, key="t")
        inbox.open_task(conn, cid, action, key="t", now=app.clock.now())


def test_pages_list_open_tasks_first_then_done_ones_newest_first(app: App) -> None:
    cid = app.community("c").community_id
    other = app.community("d").community_id
    ids = opened(app, cid, *(f"k{n}" for n in range(7)))
    opened(app, other, "elsewhere")
    with app.engine.begin() as conn:
        for done in (ids[1], ids[4]):
            inbox.close_task(conn, cid, done, operator_id=None, note="", now=app.clock.now())

    def walk(open_only: bool, limit: int) -> list[int]:
        seen: list[int] = []
        after = None
        while True:
            with app.engine.connect() as conn:
                page = inbox.task_rows(conn, cid, open_only=open_only, after=after, limit=limit)
            if not page:
                return seen
            seen += [t.id for t in page]
            after = (page[-1].done, page[-1].id)

    open_ids = [i for i in reversed(ids) if i not in (ids[1], ids[4])]
    for limit in (1, 2, 3, 50):
        assert walk(True, limit) == open_ids
        assert walk(False, limit) == open_ids + [ids[4], ids[1]]
    with app.engine.connect() as conn:
        assert (inbox.count_open(conn, cid), inbox.count_all(conn, cid)) == (5, 7)


def test_closing_and_reopening_check_the_state(app: App) -> None:
    cid = app.community("c").community_id
    other = app.community("d").community_id
    (task_id,) = opened(app, cid, "k")
    with app.engine.begin() as conn:
        done = inbox.close_task(
            conn, cid, task_id, operator_id=7, note="  好了 ", now=app.clock.now()
        )
    assert (done.done_by, done.note, done.done_at) == (7, "好了", app.clock.now())
    with app.engine.begin() as conn:
        with pytest.raises(inbox.AlreadyDone):
            inbox.close_task(conn, cid, task_id, operator_id=8, note="", now=app.clock.now())
        with pytest.raises(inbox.TaskNotFound):
            inbox.close_task(conn, other, task_id, operator_id=8, note="", now=app.clock.now())
        with pytest.raises(inbox.TaskNotFound):
            inbox.reopen_task(conn, cid, task_id + 100)
        back = inbox.reopen_task(conn, cid, task_id)
        assert (back.done_at, back.done_by, back.note) == (None, None, "")
        with pytest.raises(inbox.NotDone):
            inbox.reopen_task(conn, cid, task_id)
        with pytest.raises(inbox.BadNote, match="control"):
            inbox.close_task(conn, cid, task_id, operator_id=7, note="a\x07", now=app.clock.now())
        with pytest.raises(inbox.BadNote, match="at most"):
            inbox.close_task(
                conn, cid, task_id, operator_id=7, note="长" * 2001, now=app.clock.now()
            )
        assert inbox.get_task(conn, cid, task_id).done_at is None  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("params", "kind"),
    [
        ({"hold": "join_request", "policy_id": "3"}, kinds.ADMISSION_HOLD),
        ({"rule_id": "4", "kind": "welcome"}, kinds.BROKEN_RULE),
        ({"pool_place": 2}, kinds.CAPACITY),
        ({"pool_place": 2, "task": "create_group"}, kinds.CREATE_GROUP),
        ({"task": "Call_Back"}, "call_back"),
        ({"task": "<b>"}, kinds.NOTICE),
        ({}, kinds.NOTICE),
    ],
)
def test_the_kind_comes_from_what_the_feature_said(params: dict, kind: str) -> None:
    assert kinds.task_kind(params) == kind


@given(
    st.dictionaries(
        st.sampled_from(["task", "hold", "rule_id", "pool_place", "other"]),
        st.one_of(st.text(max_size=50), st.integers(), st.none()),
    )
)
def test_every_notice_gets_a_short_plain_kind(params: dict) -> None:
    kind = kinds.task_kind(params)
    assert 0 < len(kind) <= kinds.MAX_KIND
    assert all(c.isascii() and (c.islower() or c.isdigit() or c == "_") for c in kind)
