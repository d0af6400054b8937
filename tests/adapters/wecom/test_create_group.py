"""CREATE_GROUP on WeCom: a join way (群活码) that opens the next group when the pool's are
full, against the local stand-in for qyapi.weixin.qq.com."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from adapters.wecom.support import CREATED, PARENTING, READING, QyApi, sealed, xml_payload
from shequn.adapters.base import PermanentFailure
from shequn.adapters.wecom import WeComAdapter
from shequn.app import App
from shequn.core import Action, ActionType
from shequn.features.templates.places import add_to_pool, pool_of
from shequn.features.templates.ticker import PoolTicker
from shequn.models import Group, OutboxRow
from shequn.models.templates import PoolState
from shequn.runtime.outbox.dispatcher import Dispatcher
from shequn.runtime.ticks import run_ticks

pytestmark = pytest.mark.anyio
GET = "externalcontact/groupchat/get"
OPENED = "wrOgQhDgAAQ3nD9pL2xHcE7sTfWnAAAA"
QR = (
    "http://p.qpic.cn/wwhead/nMl9ssowtibVGyrmvBiaibzDtp703nXuzpibnKtbSDBRJTLwS3ic4ECrf3ibLVtIFb0N6"
    "wWwy5LVuyvMQ22/0"
)


def create(**params: object) -> Action:
    return Action(
        ActionType.CREATE_GROUP,
        platform="wecom",
        name="上海读书会·周末共读群",
        params=params,
        reason="pool: no group has room",
        key="pool:3:create",
    )


async def test_the_next_group_is_a_join_way_over_the_pools_groups(
    adapter: WeComAdapter, qyapi: QyApi
) -> None:
    qyapi.answer("externalcontact/groupchat/add_join_way", "add_join_way_ok.json")
    qyapi.answer("externalcontact/groupchat/get_join_way", "get_join_way_ok.json")
    done = await adapter.perform(
        create(chat_ids=[READING, PARENTING], room_base_id=2, state="poster_2025spring")
    )
    assert done.platform_id is None, "WeCom opens the group later, when a customer scans"
    assert done.url == QR
    assert done.details == {
        "config_id": "9ad7fa5cdaa6511298498f979c472aaa",
        "room_base_name": "上海读书会·周末共读群",
    }
    assert qyapi.bodies("externalcontact/groupchat/add_join_way") == [
        {
            "scene": 2,
            "auto_create_room": 1,
            "chat_id_list": [READING, PARENTING],
            "room_base_name": "上海读书会·周末共读群",
            "room_base_id": 2,
            "remark": "上海读书会·周末共读群",
            "state": "poster_2025spring",
        }
    ]


async def test_a_numbered_name_is_the_base_and_first_number_wecom_counts_on_from(
    adapter: WeComAdapter, qyapi: QyApi
) -> None:
    qyapi.answer("externalcontact/groupchat/add_join_way", "add_join_way_ok.json")
    qyapi.answer("externalcontact/groupchat/get_join_way", "get_join_way_ok.json")
    done = await adapter.perform(
        Action(ActionType.CREATE_GROUP, name="读书会 12", params={"chat_ids": [READING]}, key="k")
    )
    (body,) = qyapi.bodies("externalcontact/groupchat/add_join_way")
    assert (body["room_base_name"], body["room_base_id"]) == ("读书会 ", 12)
    assert done.details["room_base_name"] == "读书会 "


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({}, "params.chat_ids must list the groups"),
        ({"chat_ids": READING}, "params.chat_ids must list the groups"),
        ({"chat_ids": []}, "a join way needs 1 to 5 groups, not 0"),
        ({"chat_ids": [f"wr{n}" for n in range(6)]}, "a join way needs 1 to 5 groups, not 6"),
        ({"chat_ids": [READING], "state": "s" * 31}, "state is limited to 30 characters"),
    ],
)
async def test_a_join_way_that_cannot_be_made_fails_before_any_call(
    adapter: WeComAdapter, qyapi: QyApi, params: dict, reason: str
) -> None:
    with pytest.raises(PermanentFailure, match=reason):
        await adapter.perform(create(**params))
    assert qyapi.calls == []


async def test_the_pool_links_the_group_wecom_opens_from_its_join_way(
    app: App, adapter: WeComAdapter, qyapi: QyApi
) -> None:
    """The pool's only group fills; the ticker asks WeCom for the next one; WeCom answers with
    a QR code and, once a customer scans it, opens 北京咖啡爱好者交流群☕ 2, which its creation
    callback reports; the next tick links it to the waiting place."""
    ref = app.community("咖啡")
    ingest = app.ingestor(ref).ingest_many
    qyapi.answer(GET, "groupchat_get_created.json")
    ingest(await adapter.handle_callback(**sealed(xml_payload("change_external_chat_create.xml"))))
    with app.engine.begin() as conn:
        first = conn.execute(select(Group.id).where(Group.external_id == CREATED)).scalar_one()
        add_to_pool(conn, ref.community_id, first, capacity=2, now=app.clock.now())

    ticker = PoolTicker(lang="en")
    run_ticks(app.engine, [ticker], app.clock.now())
    qyapi.answer("externalcontact/groupchat/add_join_way", "add_join_way_ok.json")
    qyapi.answer("externalcontact/groupchat/get_join_way", "get_join_way_ok.json")
    await Dispatcher(
        app.engine, {(ref.community_id, "wecom"): adapter}, clock=app.clock
    ).run_until_idle()
    assert qyapi.bodies("externalcontact/groupchat/add_join_way") == [
        {
            "scene": 2,
            "auto_create_room": 1,
            "chat_id_list": [CREATED],
            "room_base_name": "北京咖啡爱好者交流群☕ ",
            "room_base_id": 2,
            "remark": "北京咖啡爱好者交流群☕ 2",
        }
    ]
    app.clock.advance(timedelta(seconds=15))
    run_ticks(app.engine, [ticker], app.clock.now())
    with app.engine.connect() as conn:
        waiting = pool_of(conn, ref.community_id)[-1]
    assert (waiting.state, waiting.group_id, waiting.join_url) == (PoolState.CREATING, None, QR)

    app.clock.advance(timedelta(minutes=5))
    qyapi.answer(GET, "groupchat_get_opened.json")
    opened = await adapter.handle_callback(
        **sealed(xml_payload("change_external_chat_create_opened.xml"))
    )
    ingest(opened)
    assert opened[-1].payload["entry_source"] == "pool:2"
    run_ticks(app.engine, [ticker], app.clock.now())
    with app.engine.connect() as conn:
        places = pool_of(conn, ref.community_id)
        notices = conn.execute(
            select(OutboxRow.idempotency_key).where(OutboxRow.type == "notify_operator")
        ).scalars()
        told = sorted(k.split(":", 2)[2] for k in notices)
    # It came with two members, as many as its place holds (the first place's): full at
    # once, so the next one is asked for, numbered on.
    assert [(p.state, p.external_id, p.name) for p in places] == [
        (PoolState.FULL, CREATED, "北京咖啡爱好者交流群☕"),
        (PoolState.FULL, OPENED, "北京咖啡爱好者交流群☕ 2"),
        (PoolState.CREATING, None, "北京咖啡爱好者交流群☕ 3"),
    ]
    assert places[1].join_url == QR
    assert told == [
        "asked:2",
        "asked:3",
        "created",
        "warn:2025-03-01T02:00:00+00:00",
        "warn:2025-03-01T02:05:15+00:00",
    ]
