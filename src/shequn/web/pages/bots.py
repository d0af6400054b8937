"""``/bots`` and ``/playground``: the bots at work, and a simulated group to try them in.

``/bots`` shows each adapter of the current community as its process last reported
it, how many actions wait, failed or succeeded, and the actions themselves; operators
send failed ones back to the queue or cancel waiting ones from there.

``/playground`` lets an operator be the members of a simulated group: speak as one,
join, leave or ask to join, and watch the transcript and the bot's actions refresh
every second. It works where the simulated platform lives — in the process that runs
a sim adapter (``shequn demo``, or ``shequn serve`` with a ``kind = "sim"`` adapter).
The platform's state belongs to the event loop that runs the bots, so the playground's
handlers are coroutines that touch it on that loop, and do their database reads in
worker threads.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import Connection, select
from starlette.concurrency import run_in_threadpool

from shequn.adapters.sim import Refused, SimWorld
from shequn.core import ActionType
from shequn.features.community.member_filter import has_control
from shequn.features.community.setup import CommunityRef
from shequn.features.operators.service import Principal
from shequn.models import Group, Identity, OutboxStatus
from shequn.runtime.outbox import manage
from shequn.web.api.bots import (
    MAX_IDS,
    MAX_OUTBOX_ID,
    action_text,
    action_user,
    move_as,
    outbox_cursor,
    result_url,
)
from shequn.web.auth import CanEditMembers, CanView
from shequn.web.context import Web, web_of
from shequn.web.errors import Conflict, Invalid, NotFound
from shequn.web.pages.overview import N_
from shequn.web.paging import DEFAULT_LIMIT, encode_cursor
from shequn.web.rendering import PageContext, page_context, render

router = APIRouter(include_in_schema=False)

STATUS_LABELS = {
    OutboxStatus.PENDING.value: N_("Pending"),
    OutboxStatus.IN_FLIGHT.value: N_("In progress"),
    OutboxStatus.DONE.value: N_("Done"),
    OutboxStatus.FAILED.value: N_("Failed"),
    OutboxStatus.CANCELLED.value: N_("Cancelled"),
    OutboxStatus.UNCERTAIN.value: N_("Uncertain"),
}
#: Each status's badge colour (app.css).
STATUS_CLASSES = {
    OutboxStatus.PENDING.value: "",
    OutboxStatus.IN_FLIGHT.value: "warn",
    OutboxStatus.DONE.value: "good",
    OutboxStatus.FAILED.value: "bad",
    OutboxStatus.CANCELLED.value: "tag-gray",
    OutboxStatus.UNCERTAIN.value: "warn",
}
STATE_LABELS = {
    "connecting": N_("Connecting"),
    "connected": N_("Connected"),
    "retrying": N_("Reconnecting"),
    "stopped": N_("Stopped"),
}
STATE_CLASSES = {
    "connecting": "warn",
    "connected": "good",
    "retrying": "bad",
    "stopped": "tag-gray",
}
ACTION_LABELS = {
    ActionType.SEND_MESSAGE.value: N_("Send a message"),
    ActionType.DIRECT_MESSAGE.value: N_("Direct message"),
    ActionType.REPLY.value: N_("Reply"),
    ActionType.DELETE_MESSAGE.value: N_("Delete a message"),
    ActionType.PIN_MESSAGE.value: N_("Pin a message"),
    ActionType.MUTE.value: N_("Mute"),
    ActionType.UNMUTE.value: N_("Unmute"),
    ActionType.MUTE_ALL.value: N_("Mute everyone"),
    ActionType.UNMUTE_ALL.value: N_("Unmute everyone"),
    ActionType.KICK.value: N_("Remove"),
    ActionType.BAN.value: N_("Ban"),
    ActionType.UNBAN.value: N_("Unban"),
    ActionType.APPROVE_JOIN.value: N_("Approve a join request"),
    ActionType.REJECT_JOIN.value: N_("Decline a join request"),
    ActionType.INVITE.value: N_("Invite"),
    ActionType.SET_TITLE.value: N_("Set a title"),
    ActionType.SET_CARD.value: N_("Set a group nickname"),
    ActionType.SET_ROLE.value: N_("Set a role"),
    ActionType.NOTIFY_OPERATOR.value: N_("Notify operators"),
    ActionType.CREATE_GROUP.value: N_("Create a group"),
    ActionType.ADD_TAG.value: N_("Add a tag"),
    ActionType.REMOVE_TAG.value: N_("Remove a tag"),
    ActionType.ADD_POINTS.value: N_("Add points"),
}
#: How much of an action's text, and of an error, the table shows.
TEXT_GLIMPSE = 140
ERROR_GLIMPSE = 300
#: The notices a redirect back to ``/bots`` may ask for.
MOVED_NOTICES = frozenset({"retried", "cancelled", "none"})

#: The playground's limits: the transcript, the actions beside it, the member list.
TRANSCRIPT = 50
ACTIONS_BESIDE = 20
ROSTER = 200
MESSAGE_GLIMPSE = 500
MAX_MESSAGE = 10_000
MAX_NAME = 64
MAX_ANSWER = 200
PLAY_ACTIONS = ("say", "join", "leave", "ask")


def _glimpse(text: str | None, limit: int) -> str:
    if not text:
        return ""
    return text if len(text) <= limit else text[:limit] + "…"


# --- /bots -------------------------------------------------------------------------------


def _names(conn: Connection, workspace_id: int, rows: list[Any]) -> dict[tuple[str, str], str]:
    """The names shequn knows for the members the actions concern, by (platform, id)."""
    wanted = {(r.platform, user) for r in rows if r.platform and (user := action_user(r.action))}
    if not wanted:
        return {}
    found = conn.execute(
        select(Identity.platform, Identity.external_id, Identity.display_name).where(
            Identity.workspace_id == workspace_id,
            Identity.platform.in_(sorted({p for p, _ in wanted})),
            Identity.external_id.in_(sorted({u for _, u in wanted})),
        )
    )
    return {(p, u): name for p, u, name in found if (p, u) in wanted and name}


def _action_row(row: Any, names: dict[tuple[str, str], str]) -> dict[str, Any]:
    result = row.result if isinstance(row.result, dict) else {}
    platform_id = result.get("platform_id")
    user = action_user(row.action)
    return {
        "row": row,
        "label": ACTION_LABELS.get(row.type),
        "status_label": STATUS_LABELS.get(row.status, row.status),
        "status_class": STATUS_CLASSES.get(row.status, ""),
        "text": action_text(row.action, TEXT_GLIMPSE) or "",
        "user": user,
        "user_name": names.get((row.platform or "", user or "")),
        "url": result_url(result),
        "platform_id": platform_id if isinstance(platform_id, str) else None,
        "error": _glimpse(row.last_error, ERROR_GLIMPSE),
        "retryable": row.status in manage.RETRYABLE,
        "cancellable": row.status in manage.CANCELLABLE,
    }


def _status_filter(status: str | None) -> str | None:
    status = (status or "").strip() or None
    if status is not None and status not in STATUS_LABELS:
        raise Invalid("unknown status")
    return status


def _bots_url(status: str | None, **extra: Any) -> str:
    params = {k: v for k, v in {"status": status, **extra}.items() if v is not None}
    return "/bots" + (f"?{urlencode(params)}" if params else "")


def _has_world(web: Web) -> bool:
    return web.runtime is not None and web.runtime.world is not None


@router.get("/bots")
def bots_page(
    request: Request,
    who: CanView,
    status: Annotated[str | None, Query(max_length=16)] = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    msg: Annotated[str | None, Query(max_length=16)] = None,
    n: Annotated[int | None, Query(ge=0, le=MAX_IDS)] = None,
) -> Response:
    page = page_context(request, who)
    if page.community is None:
        return render(request, "overview/empty.html.j2", {"active": "bots"}, page=page)
    status = _status_filter(status)
    before = outbox_cursor(cursor)
    web = web_of(request)
    community_id = page.community.community_id
    with web.read() as conn:
        adapters = manage.adapters(conn, community_id)
        counts = manage.status_counts(conn, community_id)
        rows = manage.recent(
            conn, community_id, status=status, limit=DEFAULT_LIMIT + 1, before_id=before
        )
        shown = rows[:DEFAULT_LIMIT]
        names = _names(conn, who.workspace_id, shown)
    more = len(rows) > DEFAULT_LIMIT
    rows_shown = [_action_row(r, names) for r in shown]
    context = {
        "active": "bots",
        "adapters": [
            {
                "row": a,
                "label": STATE_LABELS.get(a.state),
                "css": STATE_CLASSES.get(a.state, ""),
            }
            for a in adapters
        ],
        "counts": counts,
        "total": sum(counts.values()),
        "status_labels": STATUS_LABELS,
        "status_classes": STATUS_CLASSES,
        "status": status,
        "tab_url": lambda s: _bots_url(s),
        "rows": rows_shown,
        "selectable": any(r["retryable"] or r["cancellable"] for r in rows_shown),
        "next_url": _bots_url(status, cursor=encode_cursor([shown[-1].id])) if more else None,
        "first_url": _bots_url(status) if before is not None else None,
        "notice": msg if msg in MOVED_NOTICES else None,
        "moved": n or 0,
        "playground": _has_world(web),
    }
    return render(request, "bots/index.html.j2", context, page=page)


def _ids(ids: list[int] | None) -> list[int]:
    chosen = ids or []
    if len(chosen) > MAX_IDS:
        raise Invalid(f"choose at most {MAX_IDS} actions at a time")
    if any(not 1 <= i <= MAX_OUTBOX_ID for i in chosen):
        raise Invalid("an action id is out of range")
    return chosen


def _moved(
    request: Request, who: Principal, kind: str, ids: list[int], status: str | None
) -> Response:
    status = _status_filter(status)
    chosen = _ids(ids)
    if not chosen:
        return RedirectResponse(_bots_url(status, msg="none"), status_code=303)
    moved = move_as(request, who, "retry" if kind == "retried" else "cancel", chosen)
    return RedirectResponse(_bots_url(status, msg=kind, n=len(moved)), status_code=303)


@router.post("/bots/retry")
def retry_actions(
    request: Request,
    who: CanEditMembers,
    ids: Annotated[list[int] | None, Form()] = None,
    status: Annotated[str | None, Form(max_length=16)] = None,
) -> Response:
    """Send the chosen failed or uncertain actions back to the queue."""
    return _moved(request, who, "retried", ids or [], status)


@router.post("/bots/cancel")
def cancel_actions(
    request: Request,
    who: CanEditMembers,
    ids: Annotated[list[int] | None, Form()] = None,
    status: Annotated[str | None, Form(max_length=16)] = None,
) -> Response:
    """Cancel the chosen pending actions."""
    return _moved(request, who, "cancelled", ids or [], status)


# --- /playground -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Setting:
    """What the playground knows before it touches the simulated platform."""

    page: PageContext
    community: CommunityRef
    #: The community's simulated groups that the platform of this process has.
    groups: list[tuple[str, str]]
    #: Names shequn knows for simulated accounts (those not in a group right now).
    names: dict[str, str]


def _world(web: Web) -> SimWorld | None:
    return web.runtime.world if web.runtime is not None else None


def _setting(request: Request, who: Principal, away: set[str]) -> _Setting | PageContext:
    """Read in a worker thread: the page, the community's sim groups, and the names shequn
    knows for the accounts in ``away`` (banned or waiting, so not in a group's roster)."""
    page = page_context(request, who)
    if page.community is None:
        return page
    web = web_of(request)
    with web.read() as conn:
        groups = [
            (external, name)
            for external, name in conn.execute(
                select(Group.external_id, Group.name)
                .where(Group.community_id == page.community.community_id, Group.platform == "sim")
                .order_by(Group.name, Group.external_id)
            )
        ]
        names: dict[str, str] = {}
        if away:
            names = {
                external: name
                for external, name in conn.execute(
                    select(Identity.external_id, Identity.display_name).where(
                        Identity.workspace_id == who.workspace_id,
                        Identity.platform == "sim",
                        Identity.external_id.in_(sorted(away)[:ROSTER]),
                    )
                )
            }
    return _Setting(page, page.community, groups, names)


def _recent_actions(web: Web, ref: CommunityRef, group: str) -> list[dict[str, Any]]:
    with web.read() as conn:
        rows = manage.recent(
            conn, ref.community_id, group_ref=group, platform="sim", limit=ACTIONS_BESIDE
        )
        names = _names(conn, ref.workspace_id, rows)
    return [_action_row(r, names) for r in rows]


def _muted(member: Any, now: datetime) -> bool:
    return member.muted_until is not None and member.muted_until > now


def _roster(
    world: SimWorld, group: str, q: str, chosen: str | None, names: dict[str, str]
) -> dict[str, Any]:
    """The members to act as: those present (matching ``q``, the chosen one always),
    and those banned, who can only try to come back."""
    g = world.groups[group]
    now = world.clock.now()
    needle = q.casefold()
    present = []
    for member in g.members.values():
        shown = member.card or member.name
        if (
            member.user != chosen
            and needle
            and not any(needle in value.casefold() for value in (shown, member.name, member.user))
        ):
            continue
        present.append(
            {"user": member.user, "name": shown, "muted": _muted(member, now), "role": member.role}
        )
    present.sort(key=lambda m: (m["user"] != chosen, m["name"].casefold(), m["user"]))
    banned = [
        {"user": user, "name": names.get(user) or user}
        for user in sorted(g.banned)
        if not needle or needle in (names.get(user) or user).casefold() or user == chosen
    ]
    return {
        "present": present[:ROSTER],
        "more": max(0, len(present) - ROSTER),
        "banned": banned[:ROSTER],
        "size": len(g.members),
    }


def _transcript(
    world: SimWorld, group: str, page: PageContext, names: dict[str, str]
) -> dict[str, Any]:
    """The group's last messages, newest first, as plain values (taken on the loop)."""
    g = world.groups[group]
    now = world.clock.now()
    messages = []
    for msg in reversed(g.messages[-TRANSCRIPT:]):
        member = g.members.get(msg.user)
        at = msg.at.astimezone(page.fmt.zone)
        messages.append(
            {
                "id": msg.id,
                "user": msg.user,
                "name": msg.name,
                "text": _glimpse(msg.message.plain_text(), MESSAGE_GLIMPSE),
                "time": at.strftime("%H:%M:%S"),
                "when": page.fmt.datetime(msg.at),
                "by_bot": msg.by_bot,
                "deleted": msg.deleted,
                "muted": member is not None and _muted(member, now),
                "gone": member is None and not msg.by_bot,
            }
        )
    muted = sorted(
        (m.card or m.name for m in g.members.values() if _muted(m, now)), key=str.casefold
    )
    requests = [
        {"user": user, "name": names.get(user) or user, "answer": _glimpse(answer, MAX_ANSWER)}
        for user, answer in sorted(g.requests.items())
    ]
    return {
        "group": group,
        "group_name": g.name,
        "messages": messages,
        "muted_members": muted,
        "muted_all": g.muted_all,
        "requests": requests,
        "size": len(g.members),
    }


def _chosen_group(setting: _Setting, group: str | None) -> str | None:
    """The group asked for, which must be one of the community's simulated groups; else
    the first of them (None when there is none)."""
    known = [external for external, _ in setting.groups]
    if group:
        if group not in known:
            raise NotFound("no such simulated group in this community")
        return group
    return known[0] if known else None


def _required_group(setting: _Setting, group: str) -> str:
    chosen = _chosen_group(setting, group)
    if chosen is None:
        raise NotFound("this community has no simulated group here")
    return chosen


async def _prepare(
    request: Request, who: Principal
) -> tuple[Web, SimWorld | None, _Setting | PageContext]:
    """The process's simulated platform and what the database says around it; the
    platform is only read here, on the loop, and the database in a worker thread."""
    web = web_of(request)
    world = _world(web)
    if world is None:
        return web, None, await run_in_threadpool(page_context, request, who)
    away: set[str] = set()
    for g in world.groups.values():
        away |= g.banned | set(g.requests)
    setting = await run_in_threadpool(_setting, request, who, away)
    if isinstance(setting, _Setting):
        present = [(ext, name) for ext, name in setting.groups if ext in world.groups]
        setting = _Setting(setting.page, setting.community, present, setting.names)
    return web, world, setting


def _play_context(
    setting: _Setting,
    world: SimWorld,
    group: str | None,
    q: str,
    member: str | None,
    feedback: dict[str, Any] | None = None,
) -> dict[str, Any]:
    roster = _roster(world, group, q, member, setting.names) if group else None
    return {
        "active": "bots",
        "groups": setting.groups,
        "group": group,
        "q": q,
        "member": member,
        "roster": roster,
        "feedback": {"notice": None, "error": None, "text": "", "name": "", "answer": ""}
        | (feedback or {}),
        "max_message": MAX_MESSAGE,
        "max_name": MAX_NAME,
        "max_answer": MAX_ANSWER,
    }


@router.get("/playground")
async def playground(
    request: Request,
    who: CanView,
    group: Annotated[str | None, Query(max_length=255)] = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    member: Annotated[str | None, Query(max_length=255)] = None,
) -> Response:
    web, world, setting = await _prepare(request, who)
    if not isinstance(setting, _Setting):
        if setting.community is None:
            return render(request, "overview/empty.html.j2", {"active": "bots"}, page=setting)
        return render(request, "bots/playground_off.html.j2", {"active": "bots"}, page=setting)
    assert world is not None
    chosen = _chosen_group(setting, group)
    context = _play_context(setting, world, chosen, (q or "").strip(), member or None)
    if chosen is not None:
        context["transcript"] = _transcript(world, chosen, setting.page, setting.names)
        context["actions"] = await run_in_threadpool(
            _recent_actions, web, setting.community, chosen
        )
    return render(request, "bots/playground.html.j2", context, page=setting.page)


@router.get("/playground/transcript")
async def playground_transcript(
    request: Request,
    who: CanView,
    group: Annotated[str, Query(max_length=255)],
) -> Response:
    """The transcript pane alone, for the page to poll."""
    web, world, setting = await _prepare(request, who)
    if not isinstance(setting, _Setting):
        if setting.community is None:
            raise NotFound("no community yet")
        return render(request, "bots/_transcript_off.html.j2", {}, page=setting)
    assert world is not None
    chosen = _required_group(setting, group)
    actions = await run_in_threadpool(_recent_actions, web, setting.community, chosen)
    context = {
        "transcript": _transcript(world, chosen, setting.page, setting.names),
        "actions": actions,
    }
    return render(request, "bots/_transcript.html.j2", context, page=setting.page)


class _Problem(Exception):
    """What the form asked for cannot be done; said beside the form."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _act(
    world: SimWorld,
    page: PageContext,
    group: str,
    action: str,
    member: str | None,
    name: str,
    text: str,
    answer: str,
    names: dict[str, str],
) -> tuple[str, str | None]:
    """Do what the form asks, as the member; return the notice and the member to keep
    selected. Runs on the event loop, like every change to the simulated platform."""
    g = world.groups[group]
    if member and has_control(member):
        raise _Problem(page.gettext("Choose a member who is in the group."))
    present = g.members.get(member) if member else None
    if action in ("say", "leave"):
        if present is None:
            raise _Problem(page.gettext("Choose a member who is in the group."))
        shown = present.card or present.name
        if action == "leave":
            world.leave(group, present.user)
            return page.gettext("%(name)s left the group.", name=shown), None
        if not text.strip():
            raise _Problem(page.gettext("Type a message first."))
        if has_control(text):
            raise _Problem(page.gettext("The message holds control characters."))
        world.say(group, present.user, text)
        return page.gettext("Sent as %(name)s.", name=shown), present.user
    if present is not None:
        raise _Problem(
            page.gettext("%(name)s is already in the group.", name=present.card or present.name)
        )
    if member:
        user, who_name = member, names.get(member) or member
    else:
        who_name = name.strip()
        if not who_name:
            raise _Problem(page.gettext("Give the new member a name."))
        if has_control(who_name) or len(who_name) > MAX_NAME:
            raise _Problem(page.gettext("That name cannot be used."))
        user = f"web-{secrets.token_hex(4)}"
    if action == "join":
        world.join(group, user, who_name)
        return page.gettext("%(name)s joined the group.", name=who_name), user
    if has_control(answer):
        raise _Problem(page.gettext("The answer holds control characters."))
    world.ask_to_join(group, user, who_name, answer.strip())
    return page.gettext("%(name)s asked to join.", name=who_name), None


@router.post("/playground")
async def playground_act(
    request: Request,
    who: CanEditMembers,
    group: Annotated[str, Form(max_length=255)],
    action: Annotated[str, Form(max_length=8)],
    member: Annotated[str | None, Form(max_length=255)] = None,
    name: Annotated[str, Form(max_length=MAX_NAME * 4)] = "",
    text: Annotated[str, Form(max_length=MAX_MESSAGE)] = "",
    answer: Annotated[str, Form(max_length=MAX_ANSWER)] = "",
    q: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Act as a member of a simulated group. HTMX gets the form back with the outcome
    beside it (refusals included: the platform said no, the request itself was fine);
    a plain form post is answered with the page."""
    if action not in PLAY_ACTIONS:
        raise Invalid("unknown action")
    web, world, setting = await _prepare(request, who)
    if world is None or not isinstance(setting, _Setting):
        raise Conflict("the simulated platform does not run in this process")
    chosen = _required_group(setting, group)
    page = setting.page
    selected = member or None
    status = 200
    try:
        notice, selected = _act(
            world, page, chosen, action, member or None, name, text, answer, setting.names
        )
        feedback: dict[str, Any] = {"notice": notice}
    except Refused as exc:
        feedback = {"error": page.gettext("The platform refused: %(reason)s", reason=str(exc))}
        feedback |= {"text": text, "name": name, "answer": answer}
        status = 409
    except _Problem as exc:
        feedback = {"error": exc.message, "text": text, "name": name, "answer": answer}
        status = 422
    context = _play_context(setting, world, chosen, q.strip(), selected, feedback)
    if request.headers.get("hx-request") == "true":
        # HTMX swaps only successful answers: the outcome, good or bad, rides on a 200.
        return render(
            request,
            "bots/_act.html.j2",
            context,
            page=page,
            headers={"HX-Trigger": "playground-acted"},
        )
    context["transcript"] = _transcript(world, chosen, page, setting.names)
    context["actions"] = await run_in_threadpool(_recent_actions, web, setting.community, chosen)
    return render(request, "bots/playground.html.j2", context, page=page, status=status)
