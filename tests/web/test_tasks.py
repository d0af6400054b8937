"""The operator inbox on the dashboard and through the API.

Tasks are opened the way the bots open them: the real internal performer carries out
operator notices. Closing and reopening are audited; a viewer sees the inbox but cannot
change it; text from chat is escaped.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, text

from shequn.core import Action, ActionType, Message
from shequn.features.community.setup import ensure_community
from shequn.features.operators.permissions import Role
from shequn.models import AuditEntry, OperatorTask
from shequn.runtime.internal import InternalActions
from webharness import WebHarness

pytestmark = pytest.mark.anyio
HOSTILE = "<script>window.__pwned='task'</script>"


def account(web: WebHarness, group: str = "g01") -> str:
    """A member's account in ``group``."""
    with web.app.engine.connect() as conn:
        return conn.execute(
            text(
                "select i.external_id from membership s"
                " join chat_group g on g.id = s.group_id"
                " join identity i on i.member_id = s.member_id"
                " where g.external_id = :g order by i.member_id limit 1"
            ),
            {"g": group},
        ).scalar_one()


async def notice(web: WebHarness, key: str, said: str, **target: Any) -> int:
    """An operator notice performed as the bots perform it; returns the task's id."""
    params = target.pop("params", {})
    action = Action(
        ActionType.NOTIFY_OPERATOR, message=Message.of(said), params=params, key=key, **target
    )
    done = await InternalActions(web.app.engine, clock=web.app.clock).perform(
        web.ref.community_id, action
    )
    web.app.clock.advance(timedelta(seconds=1))
    return int(done.details["task_id"])


def audit(web: WebHarness, action: str) -> list[Any]:
    with web.app.engine.connect() as conn:
        return list(
            conn.execute(
                select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
            )
        )


def task(web: WebHarness, task_id: int) -> Any:
    with web.app.engine.connect() as conn:
        return conn.execute(select(OperatorTask).where(OperatorTask.id == task_id)).one()


def shown(page: str) -> list[int]:
    return [int(x) for x in re.findall(r'<tr data-task="(\d+)"', page)]


async def three_tasks(web: WebHarness) -> tuple[int, int, int]:
    user = account(web)
    hold = await notice(
        web,
        "hold:1",
        f"入群申请待审核：{HOSTILE}（{user}）申请加入 g01",
        platform="sim",
        group="g01",
        user=user,
        params={"hold": "join_request"},
    )
    broken = await notice(web, "bad-rule:1", "规则「欢迎」无法加载", params={"rule_id": "3"})
    create = await notice(
        web, "pool:1:create-failed", "请手动创建群", params={"task": "create_group"}
    )
    return hold, broken, create


async def test_the_inbox_lists_open_tasks_newest_first_and_escapes_chat_text(
    web: WebHarness,
) -> None:
    hold, broken, create = await three_tasks(web)
    viewer = await web.signed_in(Role.VIEWER)
    page = await viewer.get("/tasks")
    assert page.status_code == 200
    assert shown(page.text) == [create, broken, hold]
    assert "&lt;script&gt;window.__pwned" in page.text and HOSTILE not in page.text
    assert "入群申请待审核" in page.text and "待创建的群" in page.text, (
        "kinds in the reader's language"
    )
    assert 'data-open="3"' in page.text
    assert "/done" not in page.text, "a viewer gets no done button"
    assert 'href="/tasks"' in page.text, "the navigation links the inbox"
    english = await viewer.get("/tasks", headers={"Accept-Language": "en"})
    assert "Join request to review" in english.text or "入群申请待审核" in english.text

    api = web.api(Role.VIEWER)
    listed = (await api.get("/api/v1/tasks", params={"limit": 2})).json()
    assert [t["id"] for t in listed["items"]] == [create, broken] and listed["total"] == 3
    rest = (await api.get("/api/v1/tasks", params={"cursor": listed["next_cursor"]})).json()
    assert [t["id"] for t in rest["items"]] == [hold] and rest["next_cursor"] is None
    first = rest["items"][0]
    assert first["kind"] == "admission_hold" and first["group_name"] is not None
    assert first["text"].startswith("入群申请待审核：<script>"), "the API gives the text as is"
    assert first["member_id"] is not None and first["done"] is False


async def test_an_operator_closes_a_task_with_a_note_and_reopens_it(web: WebHarness) -> None:
    hold, broken, create = await three_tasks(web)
    operator = await web.signed_in(Role.OPERATOR)
    page = await operator.get("/tasks")
    assert f'action="/tasks/{broken}/done"' in page.text
    done = await operator.post(f"/tasks/{broken}/done", data={"note": "已修好 <b>规则</b>"})
    assert done.status_code == 303 and done.headers["location"] == "/tasks?msg=done"
    closed = task(web, broken)
    assert closed.done_at is not None and closed.note == "已修好 <b>规则</b>"
    (entry,) = audit(web, "task.done")
    assert entry.target_type == "operator_task" and entry.target_id == str(broken)
    assert entry.after == {"done": True, "kind": "broken_rule", "note": "已修好 <b>规则</b>"}
    assert entry.operator_name == "operator"

    page = await operator.get("/tasks")
    assert shown(page.text) == [create, hold] and 'data-open="2"' in page.text
    page = await operator.get("/tasks?show=done")
    assert shown(page.text) == [create, hold, broken], "open first, then done"
    assert "已修好 &lt;b&gt;规则&lt;/b&gt;" in page.text
    again = await operator.post(f"/tasks/{broken}/done", data={"show": "done"})
    assert again.headers["location"] == "/tasks?show=done&msg=already"

    back = await operator.post(f"/tasks/{broken}/reopen", data={"show": "done"})
    assert back.headers["location"] == "/tasks?show=done&msg=reopened"
    reopened = task(web, broken)
    assert reopened.done_at is None and reopened.done_by is None and reopened.note == ""
    (entry,) = audit(web, "task.reopen")
    assert entry.before["note"] == "已修好 <b>规则</b>" and entry.after["done"] is False

    api = web.api(Role.OPERATOR)
    closed = await api.post(f"/api/v1/tasks/{hold}/done", json={"note": "已通过"})
    assert closed.status_code == 200 and closed.json()["note"] == "已通过"
    assert closed.json()["done_by"] is not None
    twice = await api.post(f"/api/v1/tasks/{hold}/done")
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "already_done"
    still = await api.post(f"/api/v1/tasks/{create}/reopen")
    assert still.status_code == 409 and still.json()["error"]["code"] == "not_done"
    bad = await api.post(f"/api/v1/tasks/{create}/done", json={"note": "a\x07b"})
    assert bad.status_code == 422 and task(web, create).done_at is None
    everything = (await api.get("/api/v1/tasks", params={"state": "all"})).json()
    assert everything["total"] == 3
    assert [t["id"] for t in everything["items"]] == [create, broken, hold]
    assert len(audit(web, "task.done")) == 2


async def test_a_viewer_cannot_close_or_reopen(web: WebHarness) -> None:
    _, broken, _ = await three_tasks(web)
    viewer = await web.signed_in(Role.VIEWER)
    assert (await viewer.post(f"/tasks/{broken}/done", data={"note": "x"})).status_code == 403
    api = web.api(Role.VIEWER)
    assert (await api.post(f"/api/v1/tasks/{broken}/done")).status_code == 403
    assert (await api.post(f"/api/v1/tasks/{broken}/reopen")).status_code == 403
    assert task(web, broken).done_at is None and audit(web, "task.done") == []


async def test_a_task_of_another_workspace_is_not_found(web: WebHarness) -> None:
    with web.app.engine.begin() as conn:
        other = ensure_community(conn, "别家", now=web.app.clock.now(), workspace="另一个")
    action = Action(ActionType.NOTIFY_OPERATOR, message=Message.of("别人的事"), key="elsewhere:1")
    done = await InternalActions(web.app.engine, clock=web.app.clock).perform(
        other.community_id, action
    )
    foreign = int(done.details["task_id"])
    api = web.api(Role.OWNER)
    assert (await api.post(f"/api/v1/tasks/{foreign}/done")).status_code == 404
    owner = await web.signed_in(Role.OWNER)
    assert (await owner.post(f"/tasks/{foreign}/done")).status_code == 404
    assert task(web, foreign).done_at is None
