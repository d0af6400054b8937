"""Auto-reply as an ingest processor: the community's rules, compiled once per change.

``load`` reuses the compiled rule set while the community's rules are unchanged (one
small query tells), reads the cooldowns of its rules and the senders' roles;
``step`` asks the pure logic for at most one answer per message; ``save`` writes the
cooldowns that moved. Commands (``/rules``…) are left to the commands processor, and
messages moderation acted on (``skip``: stored event ids, filled by the moderation
processor earlier in the same batch) get no answer.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from shequn.core import Action, EventType, Role, StoredEvent
from shequn.features.autoreply import RuleSet, compile_rules, reply
from shequn.features.commands.logic import PREFIXES
from shequn.features.rules.service import AUTOREPLY, autoreply_rules, version
from shequn.models import Community, Identity, Membership, RuleState

_state = RuleState.__table__
_seat = Membership.__table__
_id = Identity.__table__
_community = Community.__table__
_COOLDOWN = "cooldown:"


@dataclass(slots=True)
class Batch:
    rules: dict[int, RuleSet] = field(default_factory=dict)  # community -> rules
    names: dict[int, str] = field(default_factory=dict)
    cooldowns: dict[tuple[str, int], datetime] = field(default_factory=dict)
    changed: dict[tuple[str, int], datetime] = field(default_factory=dict)
    roles: dict[tuple[int, str, str], Role] = field(default_factory=dict)


def _answerable(stored: StoredEvent) -> bool:
    event = stored.event
    return (
        event.type is EventType.MESSAGE
        and stored.group_id is not None
        and event.actor is not None
        and not event.text.lstrip().startswith(PREFIXES)
    )


class AutoReplyProcessor:
    name = "autoreply"

    def __init__(self, *, skip: Container[int] = frozenset()) -> None:
        self._compiled: dict[int, tuple[tuple[Any, ...], RuleSet]] = {}
        self.skip = skip

    def _ruleset(self, conn: Connection, community_id: int) -> RuleSet:
        stamp = version(conn, community_id, AUTOREPLY)
        kept = self._compiled.get(community_id)
        if kept is not None and kept[0] == stamp:
            return kept[1]
        ruleset, _ = compile_rules(autoreply_rules(conn, community_id))
        self._compiled[community_id] = (stamp, ruleset)
        return ruleset

    def load(self, conn: Connection, batch: Sequence[StoredEvent]) -> Batch:
        state = Batch()
        wanted = [s for s in batch if _answerable(s)]
        if not wanted:
            return state
        for cid in sorted({s.community_id for s in wanted}):
            state.rules[cid] = self._ruleset(conn, cid)
        state.names = dict(
            conn.execute(
                select(_community.c.id, _community.c.name).where(
                    _community.c.id.in_(sorted(state.rules))
                )
            ).all()
        )
        rule_ids = sorted(int(r.id) for rs in state.rules.values() for r in rs.rules)
        if rule_ids:
            for rule_id, key, value in conn.execute(
                select(_state.c.rule_id, _state.c.key, _state.c.value).where(
                    _state.c.rule_id.in_(rule_ids), _state.c.key.startswith(_COOLDOWN)
                )
            ):
                group_id = int(key[len(_COOLDOWN) :])
                state.cooldowns[(str(rule_id), group_id)] = datetime.fromisoformat(value["at"])
        people = sorted(
            {(s.group_id, s.event.platform, s.event.actor) for s in wanted}  # type: ignore[misc]
        )
        for start in range(0, len(people), 500):
            for gid, platform, user, role in conn.execute(
                select(_seat.c.group_id, _id.c.platform, _id.c.external_id, _seat.c.role)
                .join(_id, _id.c.member_id == _seat.c.member_id)
                .where(
                    tuple_(_seat.c.group_id, _id.c.platform, _id.c.external_id).in_(
                        people[start : start + 500]
                    ),
                    _seat.c.left_at.is_(None),
                )
            ):
                state.roles[(gid, platform, user)] = Role(role)
        return state

    def step(self, state: Batch, stored: StoredEvent) -> Iterable[Action]:
        ruleset = state.rules.get(stored.community_id)
        if ruleset is None or not _answerable(stored) or stored.id in self.skip:
            return ()
        event, gid = stored.event, stored.group_id
        assert gid is not None and event.actor is not None
        actions, after = reply(
            ruleset,
            event,
            group_id=gid,
            role=state.roles.get((gid, event.platform, event.actor), Role.MEMBER),
            values={
                "name": event.actor_name or event.actor,
                "group": event.group_name or "",
                "community": state.names.get(stored.community_id, ""),
            },
            now=event.occurred_at,
            cooldowns=state.cooldowns,
        )
        for key, at in after.items():
            if state.cooldowns.get(key) != at:
                state.changed[key] = at
        state.cooldowns = after
        return actions

    def save(self, conn: Connection, state: Batch) -> None:
        if not state.changed:
            return
        insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
        rows = [
            {
                "rule_id": int(rule_id),
                "key": f"{_COOLDOWN}{gid}",
                "value": {"at": at.isoformat()},
                "updated_at": at,
            }
            for (rule_id, gid), at in sorted(state.changed.items())
        ]
        stmt = insert(_state)
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["rule_id", "key"],
                set_={"value": stmt.excluded.value, "updated_at": stmt.excluded.updated_at},
            ),
            rows,
        )
