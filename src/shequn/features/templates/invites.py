"""Rotating invites (群活码), stored: the invites, their visits, and joins traced to visits.

``record_visit`` is what the public page calls: it picks the group with room (the pool's
``pick``), keeps the visit with its source and a fresh token, and tells the page where to
send the visitor. The attribution processor reads candidate visits for a batch of joins
(``candidate_visits``), lets ``visits.attribute`` decide, and writes the matches back
(``record_matches``). ``sources_of`` answers the operator's question: which source brought
how many visitors, and how many of them joined.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, insert, or_, select, update

from shequn.features.templates.places import PoolPlace, pool_of, seats_of
from shequn.features.templates.pool import pick
from shequn.features.templates.visits import (
    InviteError,
    VisitRef,
    check_invite_name,
    check_slug,
    clean_source,
    join_link,
    new_token,
)
from shequn.models.templates import InviteVisit, RotatingInvite

_inv = RotatingInvite.__table__
_visit = InviteVisit.__table__


class InviteNotFound(InviteError):
    """No invite by that slug or id (or it is switched off)."""


@dataclass(frozen=True, slots=True)
class Invite:
    id: int
    community_id: int
    slug: str
    name: str
    enabled: bool


@dataclass(frozen=True, slots=True)
class Landing:
    """One visit as the page shows it: the group handed out (None when all are full) and
    its join link for this visit."""

    invite: Invite
    visit_id: int
    token: str
    source: str
    place: PoolPlace | None
    link: str


def _invite(row: Any) -> Invite:
    return Invite(row.id, row.community_id, row.slug, row.name, row.enabled)


def create_invite(
    conn: Connection, community_id: int, slug: str, name: str, *, now: datetime
) -> int:
    """A new invite at ``/join/{slug}``; slugs are unique across the installation."""
    slug, name = check_slug(slug), check_invite_name(name)
    if conn.execute(select(_inv.c.id).where(_inv.c.slug == slug)).scalar() is not None:
        raise InviteError(f"slug: /join/{slug} is taken")
    return int(
        conn.execute(
            insert(_inv)
            .values(
                community_id=community_id,
                slug=slug,
                name=name,
                enabled=True,
                created_at=now,
                updated_at=now,
            )
            .returning(_inv.c.id)
        ).scalar_one()
    )


def set_invite_enabled(
    conn: Connection, community_id: int, invite_id: int, enabled: bool, *, now: datetime
) -> None:
    """Switch an invite off (its page then says so) or on again."""
    done = conn.execute(
        update(_inv)
        .where(_inv.c.id == invite_id, _inv.c.community_id == community_id)
        .values(enabled=enabled, updated_at=now)
    )
    if done.rowcount == 0:
        raise InviteNotFound(f"no invite {invite_id} in this community")


def invites_of(conn: Connection, community_id: int) -> list[Invite]:
    query = select(_inv).where(_inv.c.community_id == community_id).order_by(_inv.c.id)
    return [_invite(row) for row in conn.execute(query)]


def invite_by_slug(conn: Connection, slug: str) -> Invite | None:
    row = conn.execute(select(_inv).where(_inv.c.slug == slug)).first()
    return _invite(row) if row is not None else None


def record_visit(conn: Connection, slug: str, source: str | None, *, now: datetime) -> Landing:
    """Keep a visit of the invite at ``slug`` and choose where it goes.

    Raises ``InviteNotFound`` for an unknown or switched-off invite and ``InviteError``
    for a source label that cannot be kept; neither writes anything."""
    invite = invite_by_slug(conn, slug)
    if invite is None or not invite.enabled:
        raise InviteNotFound(f"no invite at /join/{slug}")
    label = clean_source(source)
    places = pool_of(conn, invite.community_id)
    seats = seats_of(conn, [p.group_id for p in places if p.group_id is not None])
    chosen = pick([p.entry for p in places], seats)
    place = next((p for p in places if chosen is not None and p.id == chosen.id), None)
    token = new_token()
    visit_id = conn.execute(
        insert(_visit)
        .values(
            invite_id=invite.id,
            source=label,
            pool_id=place.id if place else None,
            group_id=place.group_id if place else None,
            token=token,
            visited_at=now,
        )
        .returning(_visit.c.id)
    ).scalar_one()
    link = join_link(place.join_url, token) if place and place.join_url else ""
    return Landing(invite, int(visit_id), token, label, place, link)


def candidate_visits(
    conn: Connection,
    community_ids: Collection[int],
    *,
    group_ids: Collection[int],
    member_ids: Collection[int],
    codes: Collection[str],
    since: datetime,
    until: datetime,
) -> list[VisitRef]:
    """Visits a batch of joins may be traced to: those of the joined groups in the time
    window, those whose token a join carried, and those already matched to the joining
    members in those groups (so nobody is matched twice)."""
    if not group_ids:
        return []
    groups, members = sorted(set(group_ids)), sorted(set(member_ids))
    which = [
        and_(_visit.c.group_id.in_(groups), _visit.c.visited_at.between(since, until)),
        and_(_visit.c.group_id.in_(groups), _visit.c.member_id.in_(members)),
    ]
    if codes:
        which.append(_visit.c.token.in_(sorted(set(codes))))
    query = (
        select(
            _visit.c.id,
            _visit.c.token,
            _visit.c.group_id,
            _visit.c.visited_at,
            _visit.c.member_id,
        )
        .join(_inv, _inv.c.id == _visit.c.invite_id)
        .where(_inv.c.community_id.in_(sorted(set(community_ids))), or_(*which))
        .order_by(_visit.c.id)
    )
    return [VisitRef(*row) for row in conn.execute(query)]


def record_matches(conn: Connection, matches: Sequence[tuple[int, int, datetime]]) -> None:
    """Write (visit id, member id, joined at) matches; a visit matched meanwhile is kept."""
    for visit_id, member_id, joined_at in matches:
        conn.execute(
            update(_visit)
            .where(_visit.c.id == visit_id, _visit.c.member_id.is_(None))
            .values(member_id=member_id, joined_at=joined_at)
        )


@dataclass(frozen=True, slots=True)
class SourceCount:
    invite_id: int
    source: str
    visits: int
    joined: int


def sources_of(conn: Connection, community_id: int) -> list[SourceCount]:
    """Per invite and source: how many visits, and how many became members."""
    query = (
        select(
            _visit.c.invite_id,
            _visit.c.source,
            func.count(),
            func.count(_visit.c.member_id),
        )
        .join(_inv, _inv.c.id == _visit.c.invite_id)
        .where(_inv.c.community_id == community_id)
        .group_by(_visit.c.invite_id, _visit.c.source)
        .order_by(_visit.c.invite_id, _visit.c.source)
    )
    return [SourceCount(*row) for row in conn.execute(query)]
