"""The adapter against a local stand-in for qyapi.weixin.qq.com."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from urllib.parse import urlsplit

import pytest

from adapters.wecom.support import (
    CREATED,
    PARENTING,
    READING,
    RUNNING,
    TOKEN,
    QyApi,
    sealed,
    xml_payload,
)
from shequn.adapters.base import (
    Adapter,
    Outcome,
    PermanentFailure,
    TransientFailure,
    Unsupported,
)
from shequn.adapters.wecom import CallbackRejected, JoinWay, WeComAdapter
from shequn.core import Action, ActionType, EventType, Image, Message
from shequn.kit.clock import FrozenClock

pytestmark = pytest.mark.anyio

LIST = "externalcontact/groupchat/list"
GET = "externalcontact/groupchat/get"
SEND = "externalcontact/add_msg_template"
ZHOU = "wmOgQhDgAAs8Hn2Qk4Lr1Zt6VbY3AAAA"
CHEN = "wmOgQhDgAAwhxA1wQkZrPBm2BzL8AAAA"
ONLY_READING = {"errcode": 0, "errmsg": "ok", "group_chat_list": [{"chat_id": READING}]}


@pytest.fixture(autouse=True)
def only_the_local_server(qyapi: QyApi, sent: list[str]) -> Iterator[None]:
    """Every request the adapter sent went to 127.0.0.1, and the server saw each one
    sent to it."""
    yield
    assert all(urlsplit(url).hostname == "127.0.0.1" for url in sent), sent
    assert len([u for u in sent if u.startswith(qyapi.base)]) == len(qyapi.calls)


def send(group: str = READING, *parts: object, **params: object) -> Action:
    message = Message.of(*parts) if parts else Message.of("本周六晚8点共读，欢迎带朋友来！")
    return Action(
        type=ActionType.SEND_MESSAGE, group=group, message=message, params=params, key="k1"
    )


async def drain(adapter: WeComAdapter) -> list:
    await adapter.disconnect()
    return [event async for event in adapter.events()]


async def test_it_is_an_adapter_that_cannot_be_asked_about_the_past(
    adapter: WeComAdapter,
) -> None:
    assert isinstance(adapter, Adapter)
    assert adapter.source == "wecom:wwd1c3a8e6b2f04a57"
    assert adapter.capabilities == {ActionType.SEND_MESSAGE, ActionType.CREATE_GROUP}
    assert adapter.repeatable == frozenset()
    assert adapter.limits.per_group is None
    assert (await adapter.reconcile(send())).outcome is Outcome.UNKNOWN


# -- sync ----------------------------------------------------------------------------


def serve_groups(qyapi: QyApi) -> None:
    qyapi.answer_by_chat(
        GET,
        {
            READING: "groupchat_get_reading.json",
            RUNNING: "groupchat_get_running.json",
            PARENTING: "groupchat_get_parenting.json",
        },
    )


async def test_sync_pages_through_the_cursor_and_reports_members_once(
    adapter: WeComAdapter, qyapi: QyApi
) -> None:
    qyapi.answer(LIST, "groupchat_list_page1.json", "groupchat_list_page2.json")
    serve_groups(qyapi)
    events = await adapter.sync_groups()

    assert qyapi.bodies(LIST) == [
        {"status_filter": 0, "limit": 1000},
        {
            "status_filter": 0,
            "limit": 1000,
            "cursor": "r9FqSqsI8fgNbHLHE5QoCP50UIg2cFQbfma3l2QsmwI",
        },
    ]
    assert qyapi.bodies(GET) == [
        {"chat_id": READING, "need_name": 1},
        {"chat_id": RUNNING, "need_name": 1},
        {"chat_id": PARENTING, "need_name": 1},
    ]
    assert all(call.query == {"access_token": TOKEN} for call in qyapi.calls)
    updates = [e for e in events if e.type is EventType.GROUP_UPDATE]
    joins = [e for e in events if e.type is EventType.JOIN]
    assert [e.group_name for e in updates] == [
        "上海读书会·周末共读群",
        "杭州跑团·西湖晨跑",
        "深圳亲子阅读打卡群",
    ]
    assert len(joins) == 8
    assert all(e.source == "wecom:wwd1c3a8e6b2f04a57" for e in events)

    qyapi.answer(LIST, "groupchat_list_page1.json", "groupchat_list_page2.json")
    assert await adapter.sync_groups() == []
    assert "gettoken" not in qyapi.paths()


async def test_sync_reports_what_changed_since_the_last_one(
    adapter: WeComAdapter, qyapi: QyApi
) -> None:
    qyapi.answer(LIST, ONLY_READING, ONLY_READING)
    qyapi.answer(GET, "groupchat_get_reading.json", "groupchat_get_reading_after_join.json")
    await adapter.sync_groups()
    [join] = await adapter.sync_groups()
    assert join.type is EventType.JOIN
    assert join.actor == ZHOU
    assert join.payload["entry_source"] == "poster_2025spring"


async def test_sync_skips_groups_wecom_refuses_or_garbles(
    adapter: WeComAdapter, qyapi: QyApi
) -> None:
    qyapi.answer(LIST, "groupchat_list_page1.json", "groupchat_list_page2.json")
    qyapi.answer_by_chat(
        GET,
        {
            READING: "groupchat_get_reading.json",
            RUNNING: "groupchat_get_malformed.json",
            PARENTING: "errcode_chat_not_found.json",
        },
    )
    events = await adapter.sync_groups()
    assert {e.group for e in events} == {READING}


async def test_a_sync_that_fails_half_way_remembers_nothing(
    adapter: WeComAdapter, qyapi: QyApi
) -> None:
    qyapi.answer(LIST, "groupchat_list_page1.json", "groupchat_list_page2.json")
    qyapi.answer_by_chat(
        GET, {READING: "groupchat_get_reading.json", RUNNING: "errcode_system_busy.json"}
    )
    with pytest.raises(TransientFailure, match="-1 system busy"):
        await adapter.sync_groups()
    qyapi.answer(LIST, "groupchat_list_page1.json", "groupchat_list_page2.json")
    serve_groups(qyapi)
    events = await adapter.sync_groups()
    assert len([e for e in events if e.group == READING and e.type is EventType.JOIN]) == 4


# -- mass messages -------------------------------------------------------------------


async def test_send_message_posts_the_mass_send_and_keeps_to_one_a_day(
    make_adapter: Callable[..., WeComAdapter], qyapi: QyApi, clock: FrozenClock
) -> None:
    adapter = make_adapter(sender="ZhangWei")
    qyapi.answer(SEND, "add_msg_template_ok.json")
    done = await adapter.perform(
        send(READING, "春季共读书单来啦📚 ", Image(file_id="3a8asd892asd8asd"))
    )
    assert qyapi.bodies(SEND) == [
        {
            "chat_type": "group",
            "sender": "ZhangWei",
            "chat_id_list": [READING],
            "allow_select": False,
            "text": {"content": "春季共读书单来啦📚 "},
            "attachments": [{"msgtype": "image", "image": {"media_id": "3a8asd892asd8asd"}}],
        }
    ]
    assert done.platform_id == "msgGCAAAXtWyujaWJHDDGi0mAAAA"
    assert done.details["fail_list"] == []
    assert adapter.mass_send_used(READING, date(2025, 3, 1))
    assert not adapter.mass_send_used(RUNNING, date(2025, 3, 1))

    calls = len(qyapi.calls)
    with pytest.raises(PermanentFailure) as refused:
        await adapter.perform(send(READING))
    assert refused.value.reason == (
        "WeCom allows one mass message per group per day (next possible: 2025-03-02)"
    )
    assert len(qyapi.calls) == calls

    clock.advance(timedelta(days=1))
    qyapi.answer(SEND, "add_msg_template_ok.json")
    assert (await adapter.perform(send(READING))).platform_id == "msgGCAAAXtWyujaWJHDDGi0mAAAA"


async def test_the_day_is_wecom_s_day_in_china(
    make_adapter: Callable[..., WeComAdapter], qyapi: QyApi, clock: FrozenClock
) -> None:
    adapter = make_adapter(sender="ZhangWei")
    clock.advance(timedelta(hours=13, minutes=59))  # 23:59 in Shanghai
    qyapi.answer(SEND, "add_msg_template_ok.json", "add_msg_template_ok.json")
    await adapter.perform(send())
    clock.advance(timedelta(minutes=2))  # 00:01 next day in Shanghai, still 1 March in UTC
    await adapter.perform(send())
    assert len(qyapi.bodies(SEND)) == 2


async def test_the_sender_defaults_to_the_group_owner(adapter: WeComAdapter, qyapi: QyApi) -> None:
    qyapi.answer(GET, "groupchat_get_running.json")
    qyapi.answer(SEND, "add_msg_template_ok.json")
    done = await adapter.perform(send(RUNNING))
    assert qyapi.paths() == [GET, SEND]
    assert qyapi.bodies(SEND)[0]["sender"] == "LiNa"
    assert done.details["sender"] == "LiNa"


async def test_wecom_s_own_daily_limit_is_the_same_failure(
    make_adapter: Callable[..., WeComAdapter], qyapi: QyApi
) -> None:
    adapter = make_adapter(sender="ZhangWei")
    qyapi.answer(SEND, "add_msg_template_daily_limit.json")
    with pytest.raises(PermanentFailure) as refused:
        await adapter.perform(send())
    assert refused.value.reason.startswith(
        "WeCom allows one mass message per group per day (next possible: 2025-03-02)"
    )
    assert "41048" in refused.value.reason
    assert adapter.mass_send_used(READING, date(2025, 3, 1))
    with pytest.raises(PermanentFailure, match="next possible: 2025-03-02"):
        await adapter.perform(send())
    assert len(qyapi.bodies(SEND)) == 1


async def test_a_group_in_the_fail_list_was_not_sent_to(
    make_adapter: Callable[..., WeComAdapter], qyapi: QyApi
) -> None:
    adapter = make_adapter(sender="ZhangWei")
    qyapi.answer(SEND, "add_msg_template_fail_list.json")
    with pytest.raises(PermanentFailure, match="fail_list"):
        await adapter.perform(send())
    assert not adapter.mass_send_used(READING, date(2025, 3, 1))


@pytest.mark.parametrize(
    ("answer", "failure", "text"),
    [
        ("errcode_system_busy.json", TransientFailure, "-1 system busy"),
        ("errcode_freq_limit.json", TransientFailure, "45009 api freq out of limit"),
        ("errcode_concurrency.json", TransientFailure, "45033 api concurrent out of limit"),
        ("errcode_invalid_token.json", PermanentFailure, "40014 invalid access_token"),
        ("errcode_token_expired.json", PermanentFailure, "42001 access_token expired"),
        ("errcode_no_privilege.json", PermanentFailure, "60011 no privilege"),
        ("errcode_missing_sender.json", PermanentFailure, "41009 missing userid"),
        ("errcode_bad_param.json", PermanentFailure, "40058 invalid Request Parameter"),
        ((502, {"errmsg": "bad gateway"}), TransientFailure, "HTTP 502"),
        ((403, {"errmsg": "forbidden"}), PermanentFailure, "HTTP 403"),
    ],
)
async def test_wecom_errors_map_to_failures(
    make_adapter: Callable[..., WeComAdapter],
    qyapi: QyApi,
    answer: object,
    failure: type,
    text: str,
) -> None:
    adapter = make_adapter(sender="ZhangWei")
    qyapi.answer(SEND, answer)
    with pytest.raises(failure) as caught:
        await adapter.perform(send())
    assert type(caught.value) is failure
    assert text in caught.value.reason
    # The send did not happen, so the day's message is still to be had.
    assert not adapter.mass_send_used(READING, date(2025, 3, 1))
    assert "gettoken" not in qyapi.paths()


async def test_a_stale_token_is_refused_and_never_refreshed(
    make_adapter: Callable[..., WeComAdapter], qyapi: QyApi
) -> None:
    adapter = make_adapter(access_token="stale-token", sender="ZhangWei")
    with pytest.raises(PermanentFailure, match="40014"):
        await adapter.perform(send())
    assert qyapi.paths() == [SEND]
    assert qyapi.calls[0].query == {"access_token": "stale-token"}


async def test_a_fetched_token_comes_from_the_configured_host(
    make_adapter: Callable[..., WeComAdapter], qyapi: QyApi
) -> None:
    adapter = make_adapter(access_token=None, secret="s3cr3t-of-the-app", sender="ZhangWei")
    qyapi.answer("gettoken", "gettoken_ok.json")
    qyapi.answer(SEND, "add_msg_template_ok.json")
    await adapter.perform(send())
    assert qyapi.paths() == ["gettoken", SEND]
    assert qyapi.calls[0].query == {
        "corpid": "wwd1c3a8e6b2f04a57",
        "corpsecret": "s3cr3t-of-the-app",
    }
    assert qyapi.calls[1].query == {"access_token": TOKEN}


async def test_an_unreachable_api_is_transient(
    make_adapter: Callable[..., WeComAdapter],
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    adapter = make_adapter(api_base=f"http://127.0.0.1:{port}/cgi-bin/", sender="ZhangWei")
    with pytest.raises(TransientFailure, match="add_msg_template"):
        await adapter.perform(send())


UNSUPPORTED = [t for t in ActionType if t not in (ActionType.SEND_MESSAGE, ActionType.CREATE_GROUP)]


@pytest.mark.parametrize("kind", UNSUPPORTED, ids=[t.value for t in UNSUPPORTED])
async def test_every_other_action_is_unsupported_with_a_reason(
    adapter: WeComAdapter, qyapi: QyApi, kind: ActionType
) -> None:
    action = Action(
        type=kind,
        group=READING,
        user=CHEN,
        member_id=1,
        message=Message.of("请勿发广告"),
        target_message="msg-1",
        duration=timedelta(minutes=10),
    )
    with pytest.raises(Unsupported) as caught:
        await adapter.perform(action)
    reason = adapter.why_not[kind]
    assert caught.value.reason == f"wecom cannot {kind.value}: {reason}"
    assert len(reason.split()) > 5
    assert qyapi.calls == []


# -- join ways and welcome templates -------------------------------------------------


async def test_a_join_way_returns_its_qr_code(adapter: WeComAdapter, qyapi: QyApi) -> None:
    qyapi.answer("externalcontact/groupchat/add_join_way", "add_join_way_ok.json")
    qyapi.answer("externalcontact/groupchat/get_join_way", "get_join_way_ok.json")
    join_way = await adapter.add_join_way(
        "上海读书会·周末共读群",
        [READING, PARENTING],
        room_base_id=2,
        state="poster_2025spring",
        remark="春季读书海报",
    )
    assert join_way == JoinWay(
        config_id="9ad7fa5cdaa6511298498f979c472aaa",
        qr_code="http://p.qpic.cn/wwhead/nMl9ssowtibVGyrmvBiaibzDtp703nXuzpibnKtbSDBRJTLwS3ic4ECrf3ibLVtIFb0N6wWwy5LVuyvMQ22/0",
    )
    assert qyapi.bodies("externalcontact/groupchat/add_join_way") == [
        {
            "scene": 2,
            "auto_create_room": 1,
            "chat_id_list": [READING, PARENTING],
            "room_base_name": "上海读书会·周末共读群",
            "room_base_id": 2,
            "remark": "春季读书海报",
            "state": "poster_2025spring",
        }
    ]
    assert qyapi.bodies("externalcontact/groupchat/get_join_way") == [
        {"config_id": "9ad7fa5cdaa6511298498f979c472aaa"}
    ]


async def test_a_welcome_template_returns_its_id(
    make_adapter: Callable[..., WeComAdapter], qyapi: QyApi
) -> None:
    adapter = make_adapter(agent_id=1000002)
    qyapi.answer("externalcontact/group_welcome_template/add", "group_welcome_template_add_ok.json")
    template = await adapter.add_group_welcome_template(
        "欢迎%NICKNAME%加入读书会！先看群公告哦～", "MEDIA_ID_POSTER"
    )
    assert template == "msgXXXXXXXwelcome2025spring"
    assert qyapi.bodies("externalcontact/group_welcome_template/add") == [
        {
            "notify": 1,
            "text": {"content": "欢迎%NICKNAME%加入读书会！先看群公告哦～"},
            "image": {"media_id": "MEDIA_ID_POSTER"},
            "agentid": 1000002,
        }
    ]


# -- callbacks -----------------------------------------------------------------------


async def test_callbacks_resolve_members_against_the_known_roster(
    adapter: WeComAdapter, qyapi: QyApi
) -> None:
    qyapi.answer(LIST, ONLY_READING)
    qyapi.answer(GET, "groupchat_get_reading.json", "groupchat_get_reading_after_join.json")
    await adapter.sync_groups()

    request = sealed(xml_payload("change_external_chat_add_member_without_list.xml"))
    [join] = await adapter.handle_callback(**request)
    assert join.type is EventType.JOIN
    assert join.actor == ZHOU
    assert join.actor_name == "小周同学"
    assert join.payload["via"] == "qrcode"

    calls = len(qyapi.calls)
    request = sealed(xml_payload("change_external_chat_del_member_removed.xml"))
    [leave] = await adapter.handle_callback(**request)
    assert leave.type is EventType.LEAVE
    assert leave.actor == CHEN
    assert leave.actor_name == "陈小春"
    assert leave.payload["kicked_by"] == "ZhangWei"
    assert len(qyapi.calls) == calls  # the owner was known: nothing fetched

    # A sync now reports only what no callback did: the new name.
    qyapi.answer(LIST, ONLY_READING)
    qyapi.answer(GET, "groupchat_get_reading_after_leave.json")
    [update] = await adapter.sync_groups()
    assert update.type is EventType.GROUP_UPDATE
    assert update.payload["name"] == "上海读书会·春季共读群"

    queued = await drain(adapter)
    assert [e.key for e in queued] == [join.key, leave.key]


async def test_a_created_group_is_reported_with_its_members(
    adapter: WeComAdapter, qyapi: QyApi
) -> None:
    qyapi.answer(GET, "groupchat_get_created.json")
    events = await adapter.handle_callback(**sealed(xml_payload("change_external_chat_create.xml")))
    assert [e.type for e in events] == [EventType.GROUP_UPDATE, EventType.JOIN, EventType.JOIN]
    assert events[0].payload["created"] is True
    assert events[0].group_name == "北京咖啡爱好者交流群☕"
    assert qyapi.bodies(GET) == [{"chat_id": CREATED, "need_name": 1}]


async def test_a_renamed_group_carries_its_new_name(adapter: WeComAdapter, qyapi: QyApi) -> None:
    qyapi.answer(GET, "groupchat_get_reading_after_leave.json")
    [update] = await adapter.handle_callback(
        **sealed(xml_payload("change_external_chat_change_name.xml"))
    )
    assert update.payload["change"] == "change_name"
    assert update.payload["name"] == "上海读书会·春季共读群"


async def test_a_first_join_is_found_by_join_time_and_matches_a_later_sync(
    adapter: WeComAdapter, qyapi: QyApi
) -> None:
    qyapi.answer(GET, "groupchat_get_reading_after_join.json")
    [join] = await adapter.handle_callback(
        **sealed(xml_payload("change_external_chat_add_member_without_list.xml"))
    )
    assert join.actor == ZHOU
    qyapi.answer(LIST, ONLY_READING)
    qyapi.answer(GET, "groupchat_get_reading_after_join.json")
    synced = await adapter.sync_groups()
    # The sync reports the whole roster (none was known); Zhou's join under the same key.
    assert join.key in {e.key for e in synced}
    assert len([e for e in synced if e.type is EventType.JOIN]) == 5


async def test_a_removal_fetches_the_owner_when_unknown(
    adapter: WeComAdapter, qyapi: QyApi
) -> None:
    qyapi.answer(GET, "groupchat_get_reading.json")
    [leave] = await adapter.handle_callback(
        **sealed(xml_payload("change_external_chat_del_member_removed.xml"))
    )
    assert leave.payload["kicked_by"] == "ZhangWei"


async def test_a_callback_is_reported_even_when_the_detail_cannot_be_had(
    adapter: WeComAdapter, qyapi: QyApi
) -> None:
    qyapi.answer(GET, "errcode_no_privilege.json")
    [update] = await adapter.handle_callback(
        **sealed(xml_payload("change_external_chat_add_member_without_list.xml"))
    )
    assert update.type is EventType.GROUP_UPDATE
    assert update.payload["members_unknown"] is True


async def test_a_forged_callback_is_rejected_and_nothing_queued(
    adapter: WeComAdapter, qyapi: QyApi
) -> None:
    request = sealed(xml_payload("change_external_chat_add_member.xml"))
    request["msg_signature"] = "0" * 40
    with pytest.raises(CallbackRejected, match="signature"):
        await adapter.handle_callback(**request)
    assert await drain(adapter) == []
    assert qyapi.calls == []
