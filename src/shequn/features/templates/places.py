"""The pool's places, stored: what ``pool.watch`` and ``pool.pick`` read, and what
operators change (add a group, take one out, set the order, fill a place by hand).

A place may come before its group: the ticker adds one in state ``creating`` when it asks
for the next group, and links the group when the platform (or an operator) has made it.
Nothing here commits; a refused change writes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from shequn.features.templates.pool import PoolEntry, PoolError, check_place
from shequn.features.templates.service import get_template, group_row
from shequn.models import Group, Membership
from shequn.models.templates import PoolGroup, PoolState

_p = PoolGroup.__table__
_g = Group.__table__
_seat = Membership.__table__


class PlaceNotFound(PoolError):
    """No pool place with that id in that community."""


@dataclass(frozen=True, slots=True)
class PoolPlace:
    """A place in the pool as stored, with its group's platform id and name."""

    id: int
    community_id: int
    position: int
    state: PoolState
    capacity: int
    warn_ratio: float
    platform: str
    name: str
    group_id: int | None
    external_id: str | None
    template_id: int | None
    join_url: str
    join_note: str
    warned_at: datetime | None
    request_key: str | None
    requested_at: datetime | None
    note: str | None
    applied_at: datetime | None

    @property
    def entry(self) -> PoolEntry:
        return PoolEntry(
            id=self.id,
            position=self.position,
            capacity=self.capacity,
            state=self.state,
            group_id=self.group_id,
            warn_ratio=self.warn_ratio,
            warned=self.warned_at is not None,
            platform=self.platform,
            name=self.name,
            template_id=self.template_id,
        )


def pool_of(
    conn: Connection, community_id: int | None = None, *, retired: bool = False
) -> list[PoolPlace]:
    """The pool's places in filling order (every community's when ``community_id`` is None)."""
    query = select(_p, _g.c.external_id, _g.c.name.label("group_name")).outerjoin(
        _g, _g.c.id == _p.c.group_id
    )
    if community_id is not None:
        query = query.where(_p.c.community_id == community_id)
    if not retired:
        query = query.where(_p.c.state != PoolState.RETIRED.value)
    out = []
    for row in conn.execute(query.order_by(_p.c.community_id, _p.c.position, _p.c.id)):
        out.append(
            PoolPlace(
                id=row.id,
                community_id=row.community_id,
                position=row.position,
                state=PoolState(row.state),
                capacity=row.capacity,
                warn_ratio=row.warn_ratio,
                platform=row.platform,
                name=row.group_name or row.name,
                group_id=row.group_id,
                external_id=row.external_id,
                template_id=row.template_id,
                join_url=row.join_url,
                join_note=row.join_note,
                warned_at=row.warned_at,
                request_key=row.request_key,
                requested_at=row.requested_at,
                note=row.note,
                applied_at=row.applied_at,
            )
        )
    return out


def seats_of(conn: Connection, group_ids: Sequence[int]) -> dict[int, int]:
    """How many members each group has now."""
    if not group_ids:
        return {}
    return dict(
        conn.execute(
            select(_seat.c.group_id, func.count())
            .where(_seat.c.group_id.in_(sorted(set(group_ids))), _seat.c.left_at.is_(None))
            .group_by(_seat.c.group_id)
        ).all()
    )


def _place(conn: Connection, community_id: int, place_id: int) -> Any:
    row = conn.execute(
        select(_p).where(_p.c.id == place_id, _p.c.community_id == community_id)
    ).first()
    if row is None:
        raise PlaceNotFound(f"no pool place {place_id} in this community")
    return row


def _template_in(conn: Connection, community_id: int, template_id: int | None) -> None:
    if template_id is not None:
        get_template(conn, community_id, template_id)


def add_to_pool(
    conn: Connection,
    community_id: int,
    group_id: int,
    *,
    capacity: int,
    now: datetime,
    warn_ratio: float = 0.9,
    template_id: int | None = None,
    join_url: str = "",
    join_note: str = "",
    apply_template: bool = True,
) -> int:
    """Put a group at the end of the pool; returns the place's id. With a template and
    ``apply_template`` the pool ticker applies it to the group; without, the template is
    only what the next groups are made from."""
    check_place(capacity=capacity, warn_ratio=warn_ratio, join_url=join_url, join_note=join_note)
    group = group_row(conn, community_id, group_id)
    _template_in(conn, community_id, template_id)
    values = {
        "template_id": template_id,
        "platform": group.platform,
        "name": group.name,
        "capacity": capacity,
        "warn_ratio": float(warn_ratio),
        "position": _next_position(conn, community_id),
        "state": PoolState.OPEN.value,
        "join_url": join_url,
        "join_note": join_note,
        "warned_at": None,
        "request_key": None,
        "requested_at": None,
        "note": None,
        "applied_at": None if template_id is not None and apply_template else now,
        "updated_at": now,
    }
    was = conn.execute(select(_p.c.id, _p.c.state).where(_p.c.group_id == group_id)).first()
    if was is not None and was.state != PoolState.RETIRED.value:
        raise PoolError(f"group {group_id} is in the pool already (place {was.id})")
    if was is not None:  # back from retirement: the same place, so its visits stay with it
        conn.execute(update(_p).where(_p.c.id == was.id).values(**values))
        return int(was.id)
    return int(
        conn.execute(
            insert(_p)
            .values(community_id=community_id, group_id=group_id, created_at=now, **values)
            .returning(_p.c.id)
        ).scalar_one()
    )


def _next_position(conn: Connection, community_id: int) -> int:
    top = conn.execute(
        select(func.max(_p.c.position)).where(
            _p.c.community_id == community_id, _p.c.state != PoolState.RETIRED.value
        )
    ).scalar()
    return 0 if top is None else int(top) + 1


def retire_place(conn: Connection, community_id: int, place_id: int, *, now: datetime) -> None:
    """Take a place out of the pool (its group stays; past visits still name it)."""
    _place(conn, community_id, place_id)
    conn.execute(
        update(_p).where(_p.c.id == place_id).values(state=PoolState.RETIRED.value, updated_at=now)
    )


def reorder_pool(
    conn: Connection, community_id: int, place_ids: Sequence[int], *, now: datetime
) -> None:
    """Set the filling order: ``place_ids`` must name every place of the pool once."""
    current = {p.id for p in pool_of(conn, community_id)}
    given = list(place_ids)
    if len(set(given)) != len(given) or set(given) != current:
        missing = sorted(current - set(given))
        unknown = sorted(set(given) - current)
        raise PoolError(
            "the order must name every place of the pool once"
            + (f"; missing {missing}" if missing else "")
            + (f"; not in the pool {unknown}" if unknown else "")
            + ("; repeated places" if len(set(given)) != len(given) else "")
        )
    for position, place_id in enumerate(given):
        conn.execute(
            update(_p).where(_p.c.id == place_id).values(position=position, updated_at=now)
        )


def update_place(
    conn: Connection,
    community_id: int,
    place_id: int,
    *,
    now: datetime,
    **changes: Any,
) -> None:
    """Change a place's ``capacity``, ``warn_ratio``, ``join_url``, ``join_note`` or
    ``template_id``; the rest is the ticker's to keep."""
    allowed = {"capacity", "warn_ratio", "join_url", "join_note", "template_id"}
    unknown = sorted(set(changes) - allowed)
    if unknown:
        raise PoolError(f"cannot change {', '.join(unknown)} of a pool place")
    row = _place(conn, community_id, place_id)
    merged = {k: changes.get(k, getattr(row, k)) for k in allowed}
    check_place(
        capacity=merged["capacity"],
        warn_ratio=merged["warn_ratio"],
        join_url=merged["join_url"],
        join_note=merged["join_note"],
    )
    _template_in(conn, community_id, merged["template_id"])
    conn.execute(update(_p).where(_p.c.id == place_id).values(**changes, updated_at=now))


def fill_place(
    conn: Connection,
    community_id: int,
    place_id: int,
    group_id: int,
    *,
    now: datetime,
    join_url: str | None = None,
) -> None:
    """An operator made the group a place was waiting for: link it (the ticker applies
    the place's template to it next)."""
    row = _place(conn, community_id, place_id)
    if row.state != PoolState.CREATING.value:
        raise PoolError(f"pool place {place_id} is not waiting for a group")
    group = group_row(conn, community_id, group_id)
    taken = conn.execute(select(_p.c.id).where(_p.c.group_id == group_id)).scalar()
    if taken is not None:
        raise PoolError(f"group {group_id} is in the pool already (place {taken})")
    if join_url is not None:
        check_place(capacity=row.capacity, warn_ratio=row.warn_ratio, join_url=join_url)
    conn.execute(
        update(_p)
        .where(_p.c.id == place_id)
        .values(
            group_id=group_id,
            platform=group.platform,
            state=PoolState.OPEN.value,
            note=None,
            join_url=row.join_url if join_url is None else join_url,
            updated_at=now,
        )
    )
