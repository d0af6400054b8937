"""Joins traced back to the rotating-invite visit that brought them, as they are stored.

``load`` reads the visits the batch's joins could belong to, ``step`` lets the pure rule
(``visits.attribute``) decide for each join in turn — a visit matched by one join of the
batch is no longer free for the next — and ``save`` writes the matches. The processor
queues no actions: the source a member came from is a record, not something to do.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy import Connection

from shequn.core import Action, EventType, StoredEvent
from shequn.features.templates.invites import candidate_visits, record_matches
from shequn.features.templates.visits import (
    ATTRIBUTION_WINDOW,
    CLOCK_SKEW,
    JoinRef,
    VisitRef,
    attribute,
)

#: Where a join says which code brought it: the invite code given, the WeCom join way's
#: ``state`` (the adapters report it as ``entry_source``).
CODE_FIELDS = ("invite_code", "entry_source")


@dataclass(slots=True)
class Batch:
    visits: list[VisitRef] = field(default_factory=list)
    matches: list[tuple[int, int, datetime]] = field(default_factory=list)


def _join(stored: StoredEvent) -> JoinRef | None:
    if stored.event.type is not EventType.JOIN:
        return None
    if stored.group_id is None or stored.member_id is None:
        return None
    payload = stored.event.payload
    codes = tuple(str(payload[k]) for k in CODE_FIELDS if isinstance(payload.get(k), str))
    return JoinRef(stored.group_id, stored.member_id, stored.event.occurred_at, codes)


class InviteAttributionProcessor:
    name = "invite_attribution"

    def load(self, conn: Connection, batch: Sequence[StoredEvent]) -> Batch:
        joins = [(s, j) for s in batch if (j := _join(s)) is not None]
        if not joins:
            return Batch()
        visits = candidate_visits(
            conn,
            {s.community_id for s, _ in joins},
            group_ids={j.group_id for _, j in joins},
            member_ids={j.member_id for _, j in joins},
            codes={c for _, j in joins for c in j.codes},
            since=min(j.at for _, j in joins) - ATTRIBUTION_WINDOW,
            until=max(j.at for _, j in joins) + CLOCK_SKEW,
        )
        return Batch(visits=visits)

    def step(self, state: Batch, stored: StoredEvent) -> Iterable[Action]:
        join = _join(stored)
        if join is None or not state.visits:
            return ()
        found = attribute(join, state.visits)
        if found is not None:
            matched = replace(found, member_id=join.member_id)
            state.visits = [matched if v.id == found.id else v for v in state.visits]
            state.matches.append((found.id, join.member_id, join.at))
        return ()

    def save(self, conn: Connection, state: Batch) -> None:
        record_matches(conn, state.matches)
