"""``/api/v1/broadcast/...`` on both databases: posts, the per-platform preview, jobs
(create = schedule, list, get, edit, cancel), the delivery report, retry and
cancel-pending — with an API token, as a script would use them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from shequn.adapters.base import PermanentFailure
from shequn.features.operators.permissions import Role
from shequn.models import AuditEntry, BroadcastJob, BroadcastPost
from web.test_broadcast_pages import add_group, count, dispatch, sim_groups, tag, world_of
from webharness import WebHarness

pytestmark = pytest.mark.anyio
API = "/api/v1/broadcast"


def audit_actions(web: WebHarness) -> list[str]:
    a = AuditEntry.__table__
    with web.app.engine.connect() as conn:
        return list(
            conn.execute(
                select(a.c.action).where(a.c.action.like("broadcast.%")).order_by(a.c.id)
            ).scalars()
        )


async def test_posts_are_written_previewed_and_refused_with_every_problem(
    web: WebHarness,
) -> None:
    add_group(web, "telegram", "-100700", "电报群")
    add_group(web, "matrix", "!r:example.org", "Matrix 群")
    api = web.api(Role.OPERATOR)
    made = await api.post(
        f"{API}/posts",
        json={
            "title": "长文",
            "variants": {"zh-CN": "长" * 5000, "en": "Long"},
            "images": [{"url": "https://example.org/a.png", "alt": "海报"}],
            "tags": ["long"],
        },
    )
    assert made.status_code == 201, made.text
    post = made.json()
    assert post["tags"] == ["long"] and post["images"][0]["alt"] == "海报"

    preview = await api.post(f"{API}/preview?lang=en", json={"post_id": post["id"]})
    assert preview.status_code == 200, preview.text
    by_platform = {r["platform"]: r for r in preview.json()}
    assert set(by_platform) == {"matrix", "sim", "telegram"}
    telegram = by_platform["telegram"]
    assert not telegram["ok"] and telegram["length"] == 5000
    assert "takes at most 4,096" in telegram["blockers"][0]["text"]
    matrix = by_platform["matrix"]
    assert matrix["ok"] and "cannot show an image" in matrix["warnings"][0]["text"]
    only = await api.post(
        f"{API}/preview", json={"post": {"text": "你好 {group}"}, "targets": "platform:telegram"}
    )
    assert [r["platform"] for r in only.json()] == ["telegram"] and only.json()[0]["ok"]

    refused = await api.post(
        f"{API}/posts?lang=en",
        json={"variants": {"zh-CN": "{nickname} 你好"}, "links": [{"url": "ftp://x"}]},
    )
    assert refused.status_code == 422
    detail = refused.json()["error"]["detail"]
    assert len(detail["problems"]) == 2
    assert {i["where"] for i in detail["items"]} == {"variants.zh-CN", "links[0].url"}
    assert count(web, BroadcastPost.__table__) == 1

    listed = await api.get(f"{API}/posts?tag=long")
    assert [p["id"] for p in listed.json()["items"]] == [post["id"]]
    assert (await api.get(f"{API}/posts?tag=none")).json()["items"] == []
    replaced = await api.put(f"{API}/posts/{post['id']}", json={"text": "短", "title": "短文"})
    assert replaced.status_code == 200 and replaced.json()["variants"] == {"zh-CN": "短"}
    assert (await api.get(f"{API}/posts/987654")).status_code == 404
    assert (await api.delete(f"{API}/posts/{post['id']}")).status_code == 204
    assert (await api.get(f"{API}/posts/{post['id']}")).status_code == 404
    assert audit_actions(web) == [
        "broadcast.post.create",
        "broadcast.post.update",
        "broadcast.post.delete",
    ]


async def test_a_job_to_a_tag_is_scheduled_edited_and_cancelled(web: WebHarness) -> None:
    groups = sim_groups(web)
    tag(web, [g[0] for g in groups[:2]], "早报")
    api = web.api(Role.OPERATOR)
    post_id = (await api.post(f"{API}/posts", json={"text": "{group} 早安"})).json()["id"]

    refused = await api.post(
        f"{API}/jobs?lang=en",
        json={"post_id": post_id, "targets": "tag:无此标签", "when": "2020-01-01T09:00"},
    )
    assert refused.status_code == 422
    problems = refused.json()["error"]["detail"]["problems"]
    assert len(problems) == 2 and any("in the past" in p for p in problems)
    assert count(web, BroadcastJob.__table__) == 0

    made = await api.post(
        f"{API}/jobs",
        json={"post_id": post_id, "targets": "tag:早报", "when": "2026-10-06T09:00"},
    )
    assert made.status_code == 201, made.text
    job = made.json()
    assert job["status"] == "active" and job["pacing"]["daily_cap"] == 3
    assert datetime.fromisoformat(job["next_run"]) == datetime(2026, 10, 6, 1, 0, tzinfo=UTC)
    calendar = (await api.get(f"{API}/calendar?days=7")).json()
    assert [(o["job_id"], o["local"]) for o in calendar] == [(job["id"], "2026-10-06T09:00+08:00")]

    edited = await api.patch(
        f"{API}/jobs/{job['id']}", json={"when": "weekdays 08:30", "pacing": {"daily_cap": 1}}
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["schedule"] == "weekdays 08:30"
    assert edited.json()["pacing"]["daily_cap"] == 1
    listed = (await api.get(f"{API}/jobs?status=active")).json()["items"]
    assert [j["id"] for j in listed] == [job["id"]]

    cancelled = await api.post(f"{API}/jobs/{job['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json() == {"job_id": job["id"], "copies": 0}
    assert (await api.get(f"{API}/jobs/{job['id']}")).json()["status"] == "cancelled"
    closed = await api.patch(f"{API}/jobs/{job['id']}", json={"targets": "all"})
    assert closed.status_code == 422
    assert (await api.get(f"{API}/jobs/987654")).status_code == 404
    assert audit_actions(web)[-3:] == [
        "broadcast.job.create",
        "broadcast.job.update",
        "broadcast.job.cancel",
    ]


async def test_the_report_after_the_dispatcher_ran_then_retry_and_cancel_pending(
    web: WebHarness,
) -> None:
    groups = sim_groups(web)
    tag(web, [g[0] for g in groups[:3]], "通知")
    api = web.api(Role.OPERATOR)
    post_id = (await api.post(f"{API}/posts", json={"text": "{group} 通知"})).json()["id"]
    job = (await api.post(f"{API}/jobs", json={"post_id": post_id, "targets": "tag:通知"})).json()
    assert job["status"] == "done" and job["counts"] == {"pending": 3}

    world = world_of(web)
    world.fail_next(PermanentFailure("the bot was removed from the group"))
    await dispatch(web, world)
    report = (await api.get(f"{API}/jobs/{job['id']}/report")).json()
    assert report["totals"] == {"queued": 0, "sent": 2, "failed": 1, "cancelled": 0, "refused": 0}
    names = {g[2] for g in groups[:3]}
    assert {d["name"] for d in report["deliveries"]} == names
    (failed,) = [d for d in report["deliveries"] if d["status"] == "failed"]
    assert "removed" in failed["reason"]

    retried = await api.post(f"{API}/jobs/{job['id']}/retry")
    assert retried.json() == {"job_id": job["id"], "copies": 1}
    withdrawn = await api.post(f"{API}/jobs/{job['id']}/cancel-pending")
    assert withdrawn.json()["copies"] == 1, "the retried copy is waiting: it can be withdrawn"
    await dispatch(web, world)
    totals = (await api.get(f"{API}/jobs/{job['id']}/report")).json()["totals"]
    assert totals["sent"] == 2 and totals["cancelled"] == 1


async def test_reading_is_for_viewers_changing_is_for_broadcasters(web: WebHarness) -> None:
    api = web.api(Role.OPERATOR)
    post_id = (await api.post(f"{API}/posts", json={"text": "内容"})).json()["id"]
    viewer = web.api(Role.VIEWER)
    assert (await viewer.get(f"{API}/posts")).status_code == 200
    assert (await viewer.get(f"{API}/jobs")).status_code == 200
    for method, path, body in [
        ("POST", f"{API}/posts", {"text": "x"}),
        ("PUT", f"{API}/posts/{post_id}", {"text": "x"}),
        ("DELETE", f"{API}/posts/{post_id}", None),
        ("POST", f"{API}/jobs", {"post_id": post_id, "targets": "all"}),
    ]:
        reply = await viewer.request(method, path, json=body)
        assert reply.status_code == 403, (method, path)
    assert count(web, BroadcastJob.__table__) == 0
