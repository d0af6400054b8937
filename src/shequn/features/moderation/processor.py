"""Moderation as an ingest processor: every group message, join and join request heard.

``load`` reads what the batch needs in a few queries: the community's compiled policies
(rebuilt only when its rules change), who of the batch's people is blacklisted and where
they sit, the senders' seats (role, join time), their histories, and for ``/warn``
commands the roles and members involved. ``step`` asks the pure logic
(``features.moderation``) and records the outcome; ``save`` writes the histories that
moved and the log rows. Everything happens in the batch's transaction, so a decision, its
log row and its actions are stored together or not at all.

For each group message, in order:

1. A blacklisted sender is removed from every group of that community they sit in (on
   each of their accounts) and their message deleted; nothing else is decided. The
   outbox routes actions by the event's community, so groups of the workspace's other
   communities are cleared by ``service.blacklist_add`` and by those communities' own
   joins and messages.
2. Otherwise ``moderate`` decides with the group's policy and the sender's history; the
   new history is stored, and a decision is logged with its actions. The sender's role and
   join time come from their seat (a member only seen speaking has no known join time);
   a tier is not stored anywhere yet, and an adapter that detects a QR code in an image
   says so with ``payload["has_qr"] = True``.
3. A ``/warn @x reason`` by an admin is counted against x. The commands processor
   answers every command, and it alone sends the warning notice; this processor runs the
   same pure ``commands.logic.respond`` to learn whether that answer is a warning (it
   carries ``params["warning"]``), so both agree on parsing and on who may warn whom
   without the two processors talking. Here the warning is only counted: it is added to
   x's history, escalated on the group's ladder, and when the ladder reaches a step the
   sanction and a notice saying so are queued, and the whole is logged.

A join or join request of a blacklisted member is refused or removed, and logged.

Events moderation acted on are put in ``handled`` (the stored event ids of the current
batch): the auto-reply processor, which runs after this one, skips them, so a deleted
message never gets an answer.

Keys are ``moderation:<event id>:<n>``: the same event always gives the same keys, and the
log row records them, which is how the log finds its outbox rows (and their event).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sqlalchemy import Connection

from shequn.core import Action, ActionType, EventType, Mention, Role, StoredEvent
from shequn.features.commands.logic import PREFIXES, respond
from shequn.features.moderation import (
    History,
    Seat,
    Wording,
    blacklist_refusal,
    blacklist_removals,
    context_of,
    escalate,
    moderate,
    remember,
    user_key,
)
from shequn.features.moderation.blacklist import BLACKLIST_RULE
from shequn.features.moderation.escalation import escalation
from shequn.features.moderation.policies import Policies, PolicyCache
from shequn.features.moderation.store import (
    HistoryKey,
    PlacedSeat,
    account_roles,
    blacklist_reasons,
    histories,
    insert_log,
    log_row,
    member_ids,
    open_seats,
    save_histories,
    sender_seats,
    workspaces,
)

WARN_KIND = "warn"
WARN_RULE = "/warn"
BLACKLIST_KIND = "blacklist"
_WATCHED = frozenset({EventType.MESSAGE, EventType.JOIN, EventType.JOIN_REQUEST})


@dataclass(slots=True)
class Batch:
    """What one batch needs, and what it decided."""

    policies: dict[int, Policies] = field(default_factory=dict)
    workspace: dict[int, int] = field(default_factory=dict)  # community -> workspace
    blacklisted: dict[int, str] = field(default_factory=dict)  # member -> reason
    seats_of: dict[int, list[PlacedSeat]] = field(default_factory=dict)  # blacklisted only
    seats: dict[tuple[int, int], tuple[Role, datetime | None]] = field(default_factory=dict)
    roles: dict[tuple[int, str, str], Role] = field(default_factory=dict)  # for commands
    members: dict[tuple[int, str, str], int] = field(default_factory=dict)  # ws, platform, user
    histories: dict[HistoryKey, History] = field(default_factory=dict)
    changed: dict[HistoryKey, History] = field(default_factory=dict)
    log: list[dict] = field(default_factory=list)
    updated_at: datetime | None = None  # the latest change to a history


def _watched(stored: StoredEvent) -> bool:
    event = stored.event
    return (
        event.type in _WATCHED
        and stored.group_id is not None
        and event.actor is not None
        and event.group is not None
    )


def _is_command(stored: StoredEvent) -> bool:
    return stored.event.type is EventType.MESSAGE and stored.event.text.lstrip().startswith(
        PREFIXES
    )


def _mentioned(stored: StoredEvent) -> list[Mention]:
    message = stored.event.message
    segments = message.segments if message is not None else ()
    return [s for s in segments if isinstance(s, Mention) and s.user]


def _mentions(stored: StoredEvent) -> list[str]:
    return [m.user for m in _mentioned(stored) if m.user]


def _mention_name(stored: StoredEvent, user: str) -> str | None:
    return next((m.name for m in _mentioned(stored) if m.user == user), None)


def _key(stored: StoredEvent, n: int) -> str:
    return f"moderation:{stored.id}:{n}"


def _rule_id(value: str) -> int | None:
    return int(value) if value.isdigit() else None


class ModerationProcessor:
    name = "moderation"

    def __init__(self, *, lang: str = "zh-CN") -> None:
        self.lang = lang
        self._policies = PolicyCache()
        #: Stored ids of the current batch's events that moderation acted on.
        self.handled: set[int] = set()

    # --- load ---------------------------------------------------------------------------

    def load(self, conn: Connection, batch: Sequence[StoredEvent]) -> Batch:
        self.handled.clear()
        state = Batch()
        wanted = [s for s in batch if _watched(s)]
        if not wanted:
            return state
        cids = {s.community_id for s in wanted}
        state.policies = {cid: self._policies.get(conn, cid) for cid in sorted(cids)}
        state.workspace = workspaces(conn, cids)
        people = {s.member_id for s in wanted if s.member_id is not None}
        state.blacklisted = blacklist_reasons(conn, set(state.workspace.values()), people)
        if state.blacklisted:
            state.seats_of = open_seats(conn, state.blacklisted, community_ids=cids)
        messages = [s for s in wanted if s.event.type is EventType.MESSAGE]
        commands = [s for s in messages if _is_command(s)]
        self._load_commands(conn, state, commands)
        # Without rules nothing is moderated: the senders' seats and histories are not read.
        judged = [s for s in messages if state.policies[s.community_id].has_rules]
        pairs = {(s.group_id, s.member_id) for s in judged if s.member_id is not None}
        state.seats = sender_seats(conn, pairs)  # type: ignore[arg-type]
        keys = {(s.community_id, s.event.platform, s.event.actor) for s in judged}
        keys |= {
            (s.community_id, s.event.platform, user) for s in commands for user in _mentions(s)
        }
        state.histories = histories(conn, keys)  # type: ignore[arg-type]
        return state

    @staticmethod
    def _load_commands(conn: Connection, state: Batch, commands: Sequence[StoredEvent]) -> None:
        """The roles ``respond`` needs (as the commands processor reads them) and the
        members behind the accounts a command may warn."""
        if not commands:
            return
        wanted: set[tuple[int, str, str]] = set()
        accounts: dict[int, set[tuple[str, str]]] = {}
        for s in commands:
            assert s.group_id is not None and s.event.actor is not None
            platform = s.event.platform
            wanted.add((s.group_id, platform, s.event.actor))
            for user in _mentions(s):
                wanted.add((s.group_id, platform, user))
                accounts.setdefault(state.workspace[s.community_id], set()).add((platform, user))
        state.roles = account_roles(conn, wanted)
        for wid, pairs in accounts.items():
            for (platform, user), mid in member_ids(conn, wid, pairs).items():
                state.members[(wid, platform, user)] = mid

    # --- step ---------------------------------------------------------------------------

    def step(self, state: Batch, stored: StoredEvent) -> Iterable[Action]:
        if not _watched(stored) or stored.community_id not in state.policies:
            return ()
        if stored.member_id is not None and stored.member_id in state.blacklisted:
            return self._blacklisted(state, stored)
        if stored.event.type is not EventType.MESSAGE:
            return ()
        actions = self._moderate(state, stored)
        if _is_command(stored):
            actions += self._warns(state, stored, start=len(actions))
        return actions

    def _blacklisted(self, state: Batch, stored: StoredEvent) -> list[Action]:
        event, cid = stored.event, stored.community_id
        assert event.group is not None and event.actor is not None
        member = stored.member_id
        assert member is not None
        here = Seat(event.platform, event.group, event.actor)
        seats = [p.seat for p in state.seats_of.get(member, []) if p.community_id == cid]
        actions: list[Action] = []
        if event.type is EventType.JOIN_REQUEST:
            request = event.payload.get("request_id")
            for refusal in blacklist_refusal(
                event.platform, event.group, event.actor, lang=self.lang
            ):
                params = (
                    {**refusal.params, "request_id": str(request)} if request else refusal.params
                )
                actions.append(replace(refusal, params=params))
            seats = [s for s in seats if s != here]
        else:
            if event.type is EventType.MESSAGE:
                message_id = event.payload.get("message_id")
                if message_id not in (None, ""):
                    actions.append(
                        Action(
                            ActionType.DELETE_MESSAGE,
                            platform=event.platform,
                            group=event.group,
                            user=event.actor,
                            target_message=str(message_id),
                            reason=_BLACKLISTED.pick(self.lang),
                            params={"rule": BLACKLIST_RULE},
                        )
                    )
            seats = [here, *seats]
        actions += blacklist_removals(seats, lang=self.lang)
        keyed = [a.with_key(_key(stored, n)) for n, a in enumerate(actions)]
        note = state.blacklisted[member]
        reason = _BLACKLISTED
        if note:
            reason = Wording(f"{_BLACKLISTED.en}: {note}", f"{_BLACKLISTED.zh}：{note}")
        state.log.append(
            log_row(
                community_id=cid,
                group_id=stored.group_id,
                member_id=member,
                platform=event.platform,
                user=event.actor,
                rule_id=None,
                rule_name=BLACKLIST_RULE,
                kind=BLACKLIST_KIND,
                matched=user_key(event.platform, event.actor),
                reason=reason,
                actions=keyed,
                warning=False,
                at=event.occurred_at,
            )
        )
        self.handled.add(stored.id)
        return keyed

    def _moderate(self, state: Batch, stored: StoredEvent) -> list[Action]:
        event, cid, gid = stored.event, stored.community_id, stored.group_id
        policies = state.policies[cid]
        if not policies.has_rules:
            return []
        assert gid is not None
        seat = state.seats.get((gid, stored.member_id)) if stored.member_id is not None else None
        role, joined_at = seat or (Role.MEMBER, None)
        context = context_of(
            event, role=role, joined_at=joined_at, has_qr=event.payload.get("has_qr") is True
        )
        if context is None:
            return []
        now = event.occurred_at
        key = (cid, event.platform, context.actor)
        before = state.histories.get(key, History())
        policy = policies.for_group(gid)
        decision = moderate(policy, context, before, now, lang=self.lang) if policy.rules else None
        keep = policies.lookback
        after = remember(before, context, now, keep=keep) if keep > timedelta(0) else History()
        after = History(after.messages, decision.warnings if decision else before.warnings)
        self._keep(state, key, before, after, now)
        if decision is None:
            return []
        keyed = [a.with_key(_key(stored, n)) for n, a in enumerate(decision.actions)]
        state.log.append(
            log_row(
                community_id=cid,
                group_id=gid,
                member_id=stored.member_id,
                platform=event.platform,
                user=context.actor,
                rule_id=_rule_id(decision.rule_id),
                rule_name=decision.rule_name,
                kind=decision.kind,
                matched=decision.matched,
                reason=decision.reason,
                actions=keyed,
                warning=decision.warning,
                at=now,
            )
        )
        self.handled.add(stored.id)
        return keyed

    @staticmethod
    def _keep(state: Batch, key: HistoryKey, before: History, after: History, at: datetime) -> None:
        """Remember the sender's new history; a sender with nothing to remember gets no row."""
        if after == before or (
            not after.messages and not after.warnings and key not in state.histories
        ):
            return
        state.histories[key] = after
        state.changed[key] = after
        state.updated_at = at if state.updated_at is None else max(state.updated_at, at)

    def _warns(self, state: Batch, stored: StoredEvent, *, start: int) -> list[Action]:
        """Count the warnings a ``/warn`` gives (see the module docstring)."""
        event, cid, gid = stored.event, stored.community_id, stored.group_id
        assert gid is not None and event.actor is not None and event.group is not None

        def role_of(user: str) -> Role | None:
            return state.roles.get((gid, event.platform, user))

        answer = respond(
            event,
            sender_role=role_of(event.actor) or Role.MEMBER,
            role_of=role_of,
            rules_text=None,
            now=event.occurred_at,
            lang=self.lang,
        )
        out: list[Action] = []
        ladder = state.policies[cid].for_group(gid).ladder
        for warning in answer:
            if not warning.params.get("warning") or not warning.user:
                continue
            target = warning.user
            now = event.occurred_at
            key = (cid, event.platform, target)
            before = state.histories.get(key, History())
            step, warnings = escalate(ladder, before.warnings, now)
            self._keep(state, key, before, History(before.messages, warnings), now)
            done = escalation(
                step,
                ladder,
                len(warnings),
                Seat(event.platform, event.group, target),
                _mention_name(stored, target),
                now,
                self.lang,
            )
            keyed = [a.with_key(_key(stored, start + len(out) + n)) for n, a in enumerate(done)]
            out += keyed
            note = str(warning.params.get("reason") or "")
            state.log.append(
                log_row(
                    community_id=cid,
                    group_id=gid,
                    member_id=state.members.get((state.workspace[cid], event.platform, target)),
                    platform=event.platform,
                    user=target,
                    rule_id=None,
                    rule_name=WARN_RULE,
                    kind=WARN_KIND,
                    matched=note,
                    reason=Wording(
                        f"warned by {event.actor_name or event.actor}"
                        + (f": {note}" if note else ""),
                        f"被 {event.actor_name or event.actor} 警告"
                        + (f"：{note}" if note else ""),
                    ),
                    actions=[warning, *keyed],
                    warning=True,
                    at=now,
                )
            )
        return out

    # --- save ---------------------------------------------------------------------------

    def save(self, conn: Connection, state: Batch) -> None:
        if state.changed:
            assert state.updated_at is not None
            save_histories(conn, state.changed, now=state.updated_at)
        if state.log:
            insert_log(conn, state.log)


_BLACKLISTED = Wording("on the community blacklist", "在社群黑名单中")


__all__ = ["BLACKLIST_KIND", "WARN_KIND", "WARN_RULE", "Batch", "ModerationProcessor"]
