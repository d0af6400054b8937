"""The broadcast pages — the content library, compose, the calendar and the jobs with
their delivery reports — on both databases, signed in as an operator (and a viewer).

Groups of other platforms join the simulated community the way the runtime would add
them (an ingested join), group tags are set with the broadcast service, and reports are
read after the real dispatcher ran the queued copies on the simulated platform.
"""

from __future__ import annotations

import html
import re
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select

from dispatching import SimulatedTime, dispatcher, sim_adapter
from shequn.adapters.base import PermanentFailure
from shequn.adapters.sim import SimWorld
from shequn.core import Event, EventType
from shequn.features.broadcast.service import set_group_tags
from shequn.features.operators.permissions import Role
from shequn.models import AuditEntry, BroadcastJob, BroadcastPost, Group
from webharness import NOW, WebHarness

pytestmark = pytest.mark.anyio
_g = Group.__table__


# --- helpers shared with the API tests ---------------------------------------------------


def sim_groups(web: WebHarness) -> list[tuple[int, str, str]]:
    """The community's simulated groups: (id, external id, name), by id."""
    with web.app.engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                select(_g.c.id, _g.c.external_id, _g.c.name)
                .where(_g.c.community_id == web.ref.community_id, _g.c.platform == "sim")
                .order_by(_g.c.id)
            )
        ]


def tag(web: WebHarness, group_ids: list[int], name: str) -> None:
    with web.app.engine.begin() as conn:
        for group_id in group_ids:
            set_group_tags(conn, web.ref.community_id, group_id, [name], now=NOW)


def add_group(web: WebHarness, platform: str, external_id: str, name: str) -> int:
    """A group on another platform, added as the runtime adds one: a member joins it."""
    web.app.ingestor(web.ref).ingest_many(
        [
            Event(
                type=EventType.JOIN,
                platform=platform,
                source="test",
                source_id=f"join-{platform}-{external_id}",
                occurred_at=NOW - timedelta(hours=1),
                group=external_id,
                group_name=name,
                actor=f"{platform}-user",
                actor_name="新成员",
            )
        ]
    )
    with web.app.engine.connect() as conn:
        return conn.execute(
            select(_g.c.id).where(_g.c.platform == platform, _g.c.external_id == external_id)
        ).scalar_one()


def count(web: WebHarness, table: object) -> int:
    with web.app.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()  # type: ignore[arg-type]


def world_of(web: WebHarness) -> SimWorld:
    """A simulated platform holding the community's sim groups."""
    world = SimWorld(web.app.clock)
    for _, external_id, name in sim_groups(web):
        world.add_group(external_id, name)
    return world


async def dispatch(web: WebHarness, world: SimWorld) -> None:
    adapter = sim_adapter(world)
    d = dispatcher(web.app, web.ref.community_id, adapter, time=SimulatedTime(web.app.clock))
    await d.run_until_idle()


def post_form(**fields: str) -> dict[str, str]:
    form = {
        "title": "",
        "tags": "",
        "default_lang": "zh-CN",
        "text_zh": "",
        "text_en": "",
        "images": "",
        "links": "",
    }
    return form | fields


async def new_post(c: httpx.AsyncClient, **fields: str) -> int:
    reply = await c.post("/broadcast/posts", data=post_form(**fields))
    assert reply.status_code == 303, reply.text[:500]
    found = re.match(r"/broadcast/posts/(\d+)\?msg=created", reply.headers["location"])
    assert found
    return int(found[1])


def statuses(page: str) -> list[str]:
    """The delivery states a job's report shows, row by row."""
    report = page.split('id="report"', 1)[1]
    return re.findall(r'<span class="badge [^"]*" data-status="([a-z]+)"', report)


def job_status(page: str) -> str:
    """The job's own state, shown above its report."""
    found = re.search(r'data-status="([a-z]+)"', page.split('id="report"', 1)[0])
    assert found
    return found[1]


# --- the content library -----------------------------------------------------------------


async def test_a_post_is_written_previewed_per_platform_and_listed(web: WebHarness) -> None:
    add_group(web, "telegram", "-100500", "电报读书群")
    add_group(web, "matrix", "!room:example.org", "Matrix 读书群")
    c = await web.signed_in(Role.OPERATOR)
    await c.post("/me/language", data={"locale": "en", "next": "/"})

    refused = await c.post(
        "/broadcast/posts", data=post_form(title="坏的", text_zh="你好 {nickname}")
    )
    assert refused.status_code == 422
    assert "{nickname}" in html.unescape(refused.text) and "nothing was stored" in refused.text
    assert 'value="坏的"' in refused.text, "the input is kept"
    assert count(web, BroadcastPost.__table__) == 0

    long_text = "长" * 5000
    post_id = await new_post(
        c,
        title="周五晚读",
        tags="reading weekly",
        text_zh=long_text,
        text_en="Friday reading at {group}",
        images="https://example.org/poster.png",
        links="https://example.org/signup Sign up",
    )
    page = (await c.get(f"/broadcast/posts/{post_id}")).text
    cards = dict(re.findall(r'data-platform="([a-z]+)" data-ok="(yes|no)"', page))
    assert cards == {"matrix": "yes", "sim": "yes", "telegram": "no"}
    text = html.unescape(page)
    assert "telegram takes at most 4,096" in text
    assert "matrix cannot show an image from a https:// address" in text

    # The preview of a post being written, as HTMX asks for it: the partial alone.
    partial = await c.post(
        "/broadcast/preview",
        data=post_form(text_zh="你好 {group}", images="https://example.org/a.png"),
        headers={"HX-Request": "true"},
    )
    assert partial.status_code == 200 and partial.text.lstrip().startswith('<div id="preview"')
    assert 'data-platform="telegram" data-ok="yes"' in partial.text

    listed = (await c.get("/broadcast?tag=weekly")).text
    assert f'data-post="{post_id}"' in listed and "周五晚读" in listed
    assert f'data-post="{post_id}"' not in (await c.get("/broadcast?tag=other")).text

    saved = await c.post(
        f"/broadcast/posts/{post_id}", data=post_form(title="周五晚读（改）", text_zh="短一些")
    )
    assert saved.status_code == 303
    page = (await c.get(f"/broadcast/posts/{post_id}")).text
    assert 'data-platform="telegram" data-ok="yes"' in page and "周五晚读（改）" in page
    with web.app.engine.connect() as conn:
        actions = list(
            conn.execute(
                select(AuditEntry.__table__.c.action).where(
                    AuditEntry.__table__.c.action.like("broadcast.%")
                )
            ).scalars()
        )
    assert actions == ["broadcast.post.create", "broadcast.post.update"]


async def test_a_viewer_reads_but_cannot_write_or_send(web: WebHarness) -> None:
    operator = await web.signed_in(Role.OPERATOR)
    post_id = await new_post(operator, title="只读", text_zh="内容")
    viewer = await web.signed_in(Role.VIEWER)
    library = await viewer.get("/broadcast")
    assert library.status_code == 200 and 'id="new-post"' not in library.text
    page = await viewer.get(f"/broadcast/posts/{post_id}")
    assert page.status_code == 200 and "/delete" not in page.text
    for path, data in [
        ("/broadcast/posts", post_form(text_zh="x")),
        ("/broadcast/compose", {"post": str(post_id), "targets": "all"}),
        (f"/broadcast/posts/{post_id}/delete", {}),
    ]:
        assert (await viewer.post(path, data=data)).status_code == 403, path
    assert count(web, BroadcastJob.__table__) == 0


# --- compose, refusals and WeCom -----------------------------------------------------------


async def test_a_refused_job_shows_every_problem_keeps_the_input_and_stores_nothing(
    web: WebHarness,
) -> None:
    groups = sim_groups(web)
    tag(web, [g[0] for g in groups[:2]], "早读")
    c = await web.signed_in(Role.OPERATOR)
    post_id = await new_post(c, title="晨读", text_zh="{group} 早上好")
    form = {
        "post": str(post_id),
        "targets": "tag:无此标签",
        "when_kind": "once",
        "at": "2020-01-01T09:00",
        "repeat": "",
        "daily_cap": "3",
        "quiet": "",
    }
    reply = await c.post("/broadcast/compose", data=form)
    assert reply.status_code == 422
    text = html.unescape(reply.text)
    assert "is in the past" in text or "已经过去" in text
    assert "无此标签" in text and 'value="tag:无此标签"' in text
    assert 'value="2020-01-01T09:00"' in text, "the input is kept"
    bad_cap = await c.post("/broadcast/compose", data=form | {"daily_cap": "many"})
    assert bad_cap.status_code == 422 and "daily_cap" in bad_cap.text
    assert count(web, BroadcastJob.__table__) == 0

    # Checked before sending: the targets match the two tagged groups.
    check = await c.post(
        "/broadcast/compose/check",
        data=form | {"targets": "tag:早读", "when_kind": "now"},
        headers={"HX-Request": "true"},
    )
    assert check.status_code == 200 and 'data-matched="2"' in check.text
    assert 'data-platform="sim" data-ok="yes"' in check.text

    scheduled = await c.post(
        "/broadcast/compose", data=form | {"targets": "tag:早读", "at": "2026-10-06T09:00"}
    )
    assert scheduled.status_code == 303, scheduled.text[:800]
    job_url = scheduled.headers["location"].split("?")[0]
    job_id = int(job_url.rsplit("/", 1)[1])
    job = await c.get(job_url)
    assert 'data-status="active"' in job.text
    calendar = await c.get("/broadcast/calendar")
    assert f'data-job="{job_id}"' in calendar.text and "晨读" in calendar.text
    jobs = await c.get("/broadcast/jobs?status=active")
    assert f'data-job="{job_id}"' in jobs.text

    # Editing the schedule: a recurring text replaces the one-off.
    edited = await c.post(
        f"{job_url}/edit",
        data={"targets": "tag:早读", "when": "weekdays 08:30", "daily_cap": "2", "quiet": ""},
    )
    assert edited.status_code == 303
    refused_edit = await c.post(
        f"{job_url}/edit", data={"targets": "tag:无此标签", "when": "", "daily_cap": "2"}
    )
    assert refused_edit.status_code == 422 and "无此标签" in html.unescape(refused_edit.text)
    job = await c.get(job_url)
    assert "weekdays 08:30" in job.text and "tag:早读" in job.text


async def test_wecom_conflicts_show_before_sending_and_refuse_the_job(web: WebHarness) -> None:
    wecom = add_group(web, "wecom", "wrOgQhDgAAAA", "企业微信客户群")
    tag(web, [wecom], "客户")
    c = await web.signed_in(Role.OPERATOR)
    first = await new_post(c, title="第一条", text_zh="今天的通知")
    second = await new_post(c, title="第二条", text_zh="又一条通知")
    sent = await c.post(
        "/broadcast/compose",
        data={"post": str(first), "targets": "tag:客户", "when_kind": "now", "daily_cap": "3"},
    )
    assert sent.status_code == 303
    form = {"post": str(second), "targets": "tag:客户", "when_kind": "now", "daily_cap": "3"}
    check = await c.post("/broadcast/compose/check", data=form, headers={"HX-Request": "true"})
    assert "wecom-conflicts" in check.text
    assert "企业微信每个客户群每天" in html.unescape(check.text)
    refused = await c.post("/broadcast/compose", data=form)
    assert refused.status_code == 422 and "wecom-conflicts" in refused.text
    assert count(web, BroadcastJob.__table__) == 1


# --- the delivery report -----------------------------------------------------------------


async def test_the_report_follows_the_dispatcher_and_failed_copies_are_retried(
    web: WebHarness,
) -> None:
    groups = sim_groups(web)
    tag(web, [g[0] for g in groups[:3]], "晚报")
    c = await web.signed_in(Role.OPERATOR)
    post_id = await new_post(c, title="晚报", text_zh="{group} 晚上好")
    reply = await c.post(
        "/broadcast/compose",
        data={"post": str(post_id), "targets": "tag:晚报", "when_kind": "now", "daily_cap": "3"},
    )
    assert reply.status_code == 303
    job_url = reply.headers["location"].split("?")[0]
    page = (await c.get(job_url)).text
    assert job_status(page) == "done" and statuses(page) == ["queued"] * 3

    world = world_of(web)
    world.fail_next(PermanentFailure("the bot was removed from the group"))
    await dispatch(web, world)
    page = (await c.get(job_url)).text
    assert sorted(statuses(page)) == ["failed", "sent", "sent"]
    assert "the bot was removed from the group" in page
    assert page.count("sim://") == 0, "only web links are shown as links"

    retried = await c.post(f"{job_url}/retry")
    assert retried.status_code == 303 and "n=1" in retried.headers["location"]
    assert "1 条失败的消息已重新排队" in (await c.get(retried.headers["location"])).text
    await dispatch(web, world)
    assert statuses((await c.get(job_url)).text) == ["sent", "sent", "sent"]
    assert sorted(len(g.messages) for g in world.groups.values())[-3:] == [1, 1, 1]


async def test_waiting_copies_are_cancelled_and_the_job_stopped(web: WebHarness) -> None:
    groups = sim_groups(web)
    tag(web, [g[0] for g in groups[:2]], "夜读")
    c = await web.signed_in(Role.OPERATOR)
    post_id = await new_post(c, title="夜读", text_zh="夜读开始")
    # 10:00 in Shanghai is inside these quiet hours: both copies wait for 22:00.
    reply = await c.post(
        "/broadcast/compose",
        data={
            "post": str(post_id),
            "targets": "tag:夜读",
            "when_kind": "now",
            "daily_cap": "3",
            "quiet": "08:00-22:00",
        },
    )
    assert reply.status_code == 303, reply.text[:800]
    job_url = reply.headers["location"].split("?")[0]
    cancelled = await c.post(f"{job_url}/cancel-pending")
    assert cancelled.status_code == 303 and "n=2" in cancelled.headers["location"]
    web.app.clock.advance(timedelta(hours=13))
    world = world_of(web)
    await dispatch(web, world)
    assert statuses((await c.get(job_url)).text) == ["cancelled", "cancelled"]
    assert world.journal() == []

    repeat = await c.post(
        "/broadcast/compose",
        data={
            "post": str(post_id),
            "targets": "tag:夜读",
            "when_kind": "repeat",
            "repeat": "daily 21:00",
            "daily_cap": "3",
        },
    )
    job_url = repeat.headers["location"].split("?")[0]
    stopped = await c.post(f"{job_url}/cancel")
    assert stopped.status_code == 303
    assert job_status((await c.get(job_url)).text) == "cancelled"
    again = await c.post(f"{job_url}/cancel")
    assert again.status_code == 422
