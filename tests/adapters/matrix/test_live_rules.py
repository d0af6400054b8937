"""Group rules at work on a real Synapse: the bot runtime hears the room, moderation
redacts a banned word and warns, auto-reply answers a question, and the moderation log
explains what happened. Checked from the members' side of the server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from nio import AsyncClient
from sqlalchemy import select

from adapters.matrix.support import Accounts, make_room, ok, wait_until
from dispatching import rows
from matrix_server import Homeserver
from shequn.app import App
from shequn.features.rules.service import save_rule
from shequn.models import ModerationEntry
from shequn.runtime.bot import BotRuntime

pytestmark = pytest.mark.anyio


@asynccontextmanager
async def running(runtime: BotRuntime) -> AsyncIterator[BotRuntime]:
    task = asyncio.create_task(runtime.run())
    await runtime.started()
    await wait_until(lambda: runtime.supervisor.states.get("matrix-bot") == "connected", 30)
    try:
        yield runtime
    finally:
        runtime.stop()
        await task


async def say(client: AsyncClient, room: str, text: str) -> str:
    sent = ok(await client.room_send(room, "m.room.message", {"msgtype": "m.text", "body": text}))
    return sent.event_id


async def content_of(client: AsyncClient, room: str, event_id: str) -> dict[str, Any]:
    return ok(await client.room_get_event(room, event_id)).event.source["content"]


def performed(app: App, kind: str) -> list[Any]:
    return [r for r in rows(app) if r.type == kind and r.status == "done"]


async def test_a_banned_word_is_redacted_and_a_question_answered(
    app: App, homeserver: Homeserver, accounts: Accounts, people: dict[str, AsyncClient]
) -> None:
    cid = app.community("读书会").community_id
    with app.engine.begin() as conn:
        now = app.clock.now()
        save_rule(
            conn,
            cid,
            "moderation",
            "广告",
            {"kind": "banned_words", "params": {"words": ["加我微信"]}},
            now=now,
        )
        save_rule(
            conn,
            cid,
            "autoreply",
            "报名",
            {"kind": "contains", "patterns": ["报名"], "reply": "{name}，报名链接在群公告"},
            now=now,
        )
    room = await make_room(people["bot"], people["alice"], people["bob"])
    runtime = app.bot_runtime(
        [
            {
                "kind": "matrix",
                "name": "matrix-bot",
                "community": "读书会",
                "homeserver": homeserver.base_url,
                "user_id": accounts.bot.user_id,
                "access_token": accounts.bot.token,
            }
        ]
    )
    async with running(runtime):
        question = await say(people["alice"], room, "请问怎么报名？")
        spam = await say(people["bob"], room, "加 我 微 信，领红包")
        await wait_until(lambda: performed(app, "reply") and performed(app, "delete_message"), 30)

    (answer,) = performed(app, "reply")
    body = await content_of(people["alice"], room, answer.result["platform_id"])
    assert body["body"].endswith("报名链接在群公告")
    assert body["m.relates_to"]["m.in_reply_to"]["event_id"] == question
    assert await content_of(people["alice"], room, spam) == {}  # redacted on the server
    assert not any(r.action.get("target_message") == spam for r in performed(app, "reply"))
    with app.engine.connect() as conn:
        (entry,) = conn.execute(select(ModerationEntry.__table__)).all()
    assert (entry.user_ref, entry.rule_name, entry.kind) == (
        accounts.bob.user_id,
        "广告",
        "banned_words",
    )
    assert "加 我 微 信" in entry.matched or "加我微信" in entry.matched
