"""The pool ticker in the bot runtime on the simulated platform: it warns at the threshold,
has the next group created when the last one fills, links it, and sets it up from the
template; where the platform cannot create it, an operator is given the task, once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from dispatching import world_with_groups
from running import running, until, write
from shequn.adapters.base import Unsupported
from shequn.adapters.sim import SimWorld
from shequn.app import App
from shequn.core import Event, EventType
from shequn.features.rules.service import rules_of, save_rule
from shequn.features.templates.invites import create_invite, record_visit
from shequn.features.templates.places import add_to_pool, fill_place, pool_of
from shequn.features.templates.service import save_template, template_of_group
from shequn.models import Group, OutboxRow
from shequn.models.templates import InviteVisit, PoolState
from shequn.runtime.bot import BotRuntime

pytestmark = pytest.mark.anyio
SIM = {"kind": "sim", "name": "sim-bot", "community": "读书会"}
FAQ = {"kind": "contains", "patterns": ["报名"], "reply": "报名链接在群公告里"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def pool_keys(app: App) -> set[str]:
    o = OutboxRow.__table__
    with app.engine.connect() as conn:
        keys = conn.execute(select(o.c.idempotency_key)).scalars()
        return {k for k in keys if k.startswith("pool:")}


async def tick(app: App, runtime: BotRuntime) -> list[str]:
    """Run the tickers once; the pool's actions this queued, by key (the other features'
    tickers run too, and are not this file's business)."""
    before = pool_keys(app)
    await runtime.tick()
    return sorted(pool_keys(app) - before)


def brought(app: App) -> list[tuple[str, int]]:
    """The visits traced to a member who joined: (source, group)."""
    v = InviteVisit.__table__
    with app.engine.connect() as conn:
        query = select(v.c.source, v.c.group_id).where(v.c.member_id.is_not(None))
        return [tuple(row) for row in conn.execute(query)]


def outbox(app: App, kind: str) -> list:
    o = OutboxRow.__table__
    with app.engine.connect() as conn:
        return list(conn.execute(select(o).where(o.c.type == kind).order_by(o.c.id)))


async def _staffed_pool(app: App, world: SimWorld, runtime: BotRuntime) -> tuple[int, int]:
    """g0 with an admin titled 班长 and its own FAQ rule, taken as the pool's template;
    g0 in the pool with room for 4 and a warning at half."""
    world.join("g0", "u-admin", "老王")
    await until(lambda: runtime.stats.stored == 1)
    promote = Event(
        type=EventType.MEMBER_UPDATE,
        platform="sim",
        source="test",
        source_id="promote",
        occurred_at=app.clock.now(),
        group="g0",
        actor="u-admin",
        payload={"role": "admin", "title": "班长"},
    )
    await runtime._heard(runtime.entries[0], promote)
    await until(lambda: runtime.stats.stored == 2)
    cid = runtime.entries[0].community.community_id
    now = app.clock.now()
    with write(app) as conn:
        g0 = conn.execute(select(Group.id).where(Group.external_id == "g0")).scalar_one()
        save_rule(conn, cid, "autoreply", "报名", FAQ, now=now, group_id=g0)
        template = template_of_group(conn, cid, g0)
        tid = save_template(conn, cid, "标准群", template.to_dict(), now=now)
        place = add_to_pool(
            conn,
            cid,
            g0,
            capacity=4,
            warn_ratio=0.5,
            template_id=tid,
            apply_template=False,
            now=now,
        )
    return cid, place


async def test_the_next_group_is_created_linked_and_set_up_from_the_template(app: App) -> None:
    world = world_with_groups(app.clock, 1, members=0)
    runtime = app.bot_runtime([SIM], world=world)
    async with running(runtime):
        cid, first = await _staffed_pool(app, world, runtime)
        assert await tick(app, runtime) == [], "one seat of four: nothing to say"
        world.join("g0", "u1", "甲")
        await until(lambda: runtime.stats.stored == 3)
        (warned,) = await tick(app, runtime)
        assert warned.startswith(f"pool:{first}:warn:")
        (warning,) = outbox(app, "notify_operator")
        assert "50%" in warning.action["message"][0]["text"]
        app.clock.advance(timedelta(seconds=15))
        assert await tick(app, runtime) == [], "warned once per crossing"

        world.join("g0", "u2", "乙")
        world.join("g0", "u3", "丙")
        await until(lambda: runtime.stats.stored == 5)
        created = await tick(app, runtime)
        assert set(created) == {f"pool:{first}:asked:{first + 1}", f"pool:{first + 1}:create"}
        (create,) = outbox(app, "create_group")
        assert create.action["name"] == "群1" and create.action["params"]["chat_ids"] == ["g0"]
        await until(lambda: len(world.groups) == 2)
        new = next(g for g in world.groups if g != "g0")
        assert world.groups[new].name == "群1"

        await until(lambda: outbox(app, "create_group")[0].status == "done")
        app.clock.advance(timedelta(seconds=15))
        set_up = await tick(app, runtime)
        key = f"pool:{first + 1}:template:"
        assert [k.split(":")[-1] for k in set_up if k.startswith(key)] == [
            "invite",
            "role",
            "title",
        ]
        assert f"pool:{first + 1}:created" in set_up
        await until(lambda: "u-admin" in world.groups[new].members)
        await until(lambda: world.groups[new].members["u-admin"].title == "班长")
        assert world.groups[new].members["u-admin"].role == "admin"
        app.clock.advance(timedelta(seconds=15))
        assert await tick(app, runtime) == [], "nothing left to do"

        with write(app) as conn:
            places = pool_of(conn, cid)
            create_invite(conn, cid, "readers", "读书会", now=app.clock.now())
            landing = record_visit(conn, "readers", "poster", now=app.clock.now())
            new_id = conn.execute(select(Group.id).where(Group.external_id == new)).scalar_one()
            copied = [r.name for r in rules_of(conn, cid) if r.group_id == new_id]
        # The visitor follows the page into the new group: the join is traced to the poster.
        world.join(new, "u-visitor", "读者")
        await until(lambda: brought(app) == [("poster", new_id)])
    assert [(p.id == first, p.state, p.external_id) for p in places] == [
        (True, PoolState.FULL, "g0"),
        (False, PoolState.OPEN, new),
    ]
    assert places[1].applied_at is not None and places[1].name == "群1"
    assert copied == ["报名"]
    assert landing.place is not None and landing.place.external_id == new


async def test_a_group_the_platform_cannot_create_becomes_an_operators_task(app: App) -> None:
    world = world_with_groups(app.clock, 2, members=0)
    runtime = app.bot_runtime([SIM], world=world)
    async with running(runtime):
        cid, _ = await _staffed_pool(app, world, runtime)
        world.fail_next(Unsupported("sim cannot create_group: groups are made by people here"))
        for n in range(3):
            world.join("g0", f"u{n}", f"成员{n}")
        world.join("g1", "u9", "别的群的人")
        await until(lambda: runtime.stats.stored == 6)
        await tick(app, runtime)
        await until(lambda: outbox(app, "create_group")[0].status == "failed")
        app.clock.advance(timedelta(seconds=15))
        (told,) = await tick(app, runtime)
        assert told.endswith(":create-failed:failed")
        task = outbox(app, "notify_operator")[-1]
        assert task.action["params"]["task"] == "create_group"
        assert "groups are made by people here" in task.action["message"][0]["text"]
        app.clock.advance(timedelta(seconds=15))
        assert await tick(app, runtime) == [], "the task is given once"
        assert len(world.groups) == 2

        # The operator made the group by hand (g1) and fills the waiting place with it.
        with write(app) as conn:
            waiting = next(p for p in pool_of(conn, cid) if p.state is PoolState.CREATING)
            g1 = conn.execute(select(Group.id).where(Group.external_id == "g1")).scalar_one()
            fill_place(conn, cid, waiting.id, g1, now=app.clock.now())
        assert [k.split(":")[-1] for k in await tick(app, runtime)] == ["invite", "role", "title"]
        await until(lambda: world.groups["g1"].members.get("u-admin") is not None)
        await until(lambda: world.groups["g1"].members["u-admin"].title == "班长")
