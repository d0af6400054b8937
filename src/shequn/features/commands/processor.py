"""Chat commands as an ingest processor: look up the roles a batch's commands need, answer.

Only messages that start with a command prefix cost anything: ``load`` reads the
seats of their senders and of the members they mention, in one query, after the
membership processor has applied the batch's own joins and role changes. The
answer uses the event's own time as "now", so replaying an event decides the same.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection, select, tuple_

from shequn.core import Action, EventType, Mention, Role, StoredEvent
from shequn.features.admission.store import rules_texts
from shequn.features.commands.logic import PREFIXES, respond
from shequn.models import Identity, Membership

_seat = Membership.__table__
_id = Identity.__table__
_CHUNK = 500


@dataclass(slots=True)
class Roles:
    """The roles of the people a batch's commands involve, by (group id, platform, user)."""

    of: dict[tuple[int, str, str], Role] = field(default_factory=dict)
    #: Each group's rules text, from its welcome rule: what ``/rules`` answers.
    rules: dict[int, str] = field(default_factory=dict)


def _is_command(stored: StoredEvent) -> bool:
    event = stored.event
    if event.type is not EventType.MESSAGE or stored.group_id is None or event.actor is None:
        return False
    return event.text.lstrip().startswith(PREFIXES)


class CommandsProcessor:
    name = "commands"

    def __init__(self, *, lang: str = "zh-CN", rules_text: str | None = None) -> None:
        self.lang = lang
        self.rules_text = rules_text

    def load(self, conn: Connection, batch: Sequence[StoredEvent]) -> Roles:
        wanted: set[tuple[int, str, str]] = set()
        groups: dict[int, set[int]] = {}
        for stored in batch:
            if not _is_command(stored):
                continue
            assert stored.group_id is not None and stored.event.actor is not None
            groups.setdefault(stored.community_id, set()).add(stored.group_id)
            platform = stored.event.platform
            wanted.add((stored.group_id, platform, stored.event.actor))
            message = stored.event.message
            for segment in message.segments if message is not None else ():
                if isinstance(segment, Mention) and segment.user:
                    wanted.add((stored.group_id, platform, segment.user))
        roles = Roles()
        for cid, gids in sorted(groups.items()):
            roles.rules.update(rules_texts(conn, cid, gids))
        keys = sorted(wanted)
        for start in range(0, len(keys), _CHUNK):
            chunk = keys[start : start + _CHUNK]
            for gid, platform, user, role in conn.execute(
                select(_seat.c.group_id, _id.c.platform, _id.c.external_id, _seat.c.role)
                .join(_id, _id.c.member_id == _seat.c.member_id)
                .where(
                    tuple_(_seat.c.group_id, _id.c.platform, _id.c.external_id).in_(chunk),
                    _seat.c.left_at.is_(None),
                )
            ):
                roles.of[(gid, platform, user)] = Role(role)
        return roles

    def step(self, state: Roles, stored: StoredEvent) -> Iterable[Action]:
        if not _is_command(stored):
            return ()
        event, gid = stored.event, stored.group_id
        assert gid is not None and event.actor is not None

        def role_of(user: str) -> Role | None:
            return state.of.get((gid, event.platform, user))

        return respond(
            event,
            sender_role=role_of(event.actor) or Role.MEMBER,
            role_of=role_of,
            rules_text=state.rules.get(gid, self.rules_text),
            now=event.occurred_at,
            lang=self.lang,
        )

    def save(self, conn: Connection, state: Roles) -> None:
        return None
