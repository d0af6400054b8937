"""Tags: creating and changing them, and putting them on members one at a time or on
every member a filter matches.

Tag names are operators' free text (and may be pasted from chat), so they are
only ever stored and shown escaped; colours come from a fixed palette so a
colour can safely become a CSS class name.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    and_,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from shequn.features.community.member_filter import MemberFilter, has_control
from shequn.features.community.members import filter_conditions, member_row
from shequn.kit.errors import ShequnError
from shequn.models import Member, MemberTag, Tag

_tag = Tag.__table__
_mt = MemberTag.__table__
_member = Member.__table__

#: The colours a tag may have; each is a CSS class ``tag-<colour>`` in the dashboard.
PALETTE = ("gray", "red", "orange", "yellow", "green", "teal", "blue", "purple", "pink")
MAX_TAG_NAME = 100
MAX_DESCRIPTION = 1000
MANUAL = "manual"


class TagError(ShequnError):
    """A tag change that cannot be made: the message says why, ``code`` says it for
    callers that word it themselves (``taken``, ``blank``, ``too_long``, ``control``,
    ``colour``, ``missing``, ``merged``)."""

    def __init__(self, message: str, code: str = "invalid") -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class TagInfo:
    id: int
    name: str
    color: str | None
    description: str | None
    created_at: datetime
    members: int = 0


def clean_name(name: str) -> str:
    """A tag name as stored: trimmed; refused if blank, too long or holding control characters."""
    name = (name or "").strip()
    if not name:
        raise TagError("a tag needs a name", "blank")
    if len(name) > MAX_TAG_NAME:
        raise TagError(f"a tag name holds at most {MAX_TAG_NAME} characters", "too_long")
    if has_control(name) or "\n" in name or "\r" in name:
        raise TagError("a tag name cannot hold control characters", "control")
    return name


def clean_color(color: str | None) -> str | None:
    if not color:
        return None
    if color not in PALETTE:
        raise TagError(f"unknown colour {color!r}: one of {', '.join(PALETTE)}", "colour")
    return color


def clean_description(text: str | None) -> str | None:
    text = (text or "").strip()
    if len(text) > MAX_DESCRIPTION:
        raise TagError(f"a description holds at most {MAX_DESCRIPTION} characters", "too_long")
    if has_control(text):
        raise TagError("a description cannot hold control characters", "control")
    return text or None


def _info(row: Any, members: int = 0) -> TagInfo:
    return TagInfo(row.id, row.name, row.color, row.description, row.created_at, members)


def list_tags(
    conn: Connection,
    workspace_id: int,
    *,
    after: tuple[str, int] | None = None,
    limit: int | None = None,
) -> list[TagInfo]:
    """The workspace's tags by name, with how many members carry each; a page of them
    when ``limit`` is given, continuing after the (name, id) ``after``."""
    # A count per tag through ``member_tag (tag_id)``: only this page's tags are counted.
    members = (
        select(func.count()).where(_mt.c.tag_id == _tag.c.id).scalar_subquery().label("members")
    )
    query = (
        select(_tag, members)
        .where(_tag.c.workspace_id == workspace_id)
        .order_by(_tag.c.name, _tag.c.id)
    )
    if after is not None:
        name, tag_id = after
        query = query.where(or_(_tag.c.name > name, and_(_tag.c.name == name, _tag.c.id > tag_id)))
    if limit is not None:
        query = query.limit(limit)
    return [_info(r, r.members) for r in conn.execute(query)]


def get_tag(conn: Connection, workspace_id: int, tag_id: int) -> TagInfo | None:
    row = conn.execute(
        select(_tag).where(_tag.c.id == tag_id, _tag.c.workspace_id == workspace_id)
    ).first()
    if row is None:
        return None
    count = conn.execute(
        select(func.count()).select_from(_mt).where(_mt.c.tag_id == tag_id)
    ).scalar_one()
    return _info(row, count)


def _name_taken(conn: Connection, workspace_id: int, name: str, but: int | None = None) -> bool:
    query = select(_tag.c.id).where(_tag.c.workspace_id == workspace_id, _tag.c.name == name)
    if but is not None:
        query = query.where(_tag.c.id != but)
    return conn.execute(query).first() is not None


def create_tag(
    conn: Connection,
    workspace_id: int,
    *,
    name: str,
    color: str | None = None,
    description: str | None = None,
    now: datetime,
) -> TagInfo:
    name = clean_name(name)
    if _name_taken(conn, workspace_id, name):
        raise TagError(f"a tag named {name!r} already exists", "taken")
    values = {
        "workspace_id": workspace_id,
        "name": name,
        "color": clean_color(color),
        "description": clean_description(description),
        "created_at": now,
    }
    tag_id = conn.execute(insert(_tag).values(values).returning(_tag.c.id)).scalar_one()
    return TagInfo(tag_id, name, values["color"], values["description"], now, 0)


def update_tag(
    conn: Connection, workspace_id: int, tag_id: int, changes: dict[str, Any]
) -> tuple[TagInfo, TagInfo]:
    """Change any of ``name``, ``color``, ``description``; returns the tag before and after."""
    before = get_tag(conn, workspace_id, tag_id)
    if before is None:
        raise TagError(f"tag {tag_id} does not exist", "missing")
    values: dict[str, Any] = {}
    if "name" in changes:
        values["name"] = clean_name(changes["name"])
        if _name_taken(conn, workspace_id, values["name"], but=tag_id):
            raise TagError(f"a tag named {values['name']!r} already exists", "taken")
    if "color" in changes:
        values["color"] = clean_color(changes["color"])
    if "description" in changes:
        values["description"] = clean_description(changes["description"])
    if values:
        conn.execute(update(_tag).where(_tag.c.id == tag_id).values(values))
    after = get_tag(conn, workspace_id, tag_id)
    assert after is not None
    return before, after


def delete_tag(conn: Connection, workspace_id: int, tag_id: int) -> TagInfo:
    """Delete a tag and take it off every member; returns it as it was."""
    before = get_tag(conn, workspace_id, tag_id)
    if before is None:
        raise TagError(f"tag {tag_id} does not exist", "missing")
    conn.execute(delete(_mt).where(_mt.c.tag_id == tag_id))
    conn.execute(delete(_tag).where(_tag.c.id == tag_id))
    return before


def _check_member(conn: Connection, workspace_id: int, member_id: int) -> None:
    row = member_row(conn, workspace_id, member_id)
    if row is None:
        raise TagError(f"member {member_id} does not exist", "missing")
    if row.merged_into_id is not None:
        raise TagError(
            f"member {member_id} was merged into {row.merged_into_id}; tag that one", "merged"
        )


def tag_member(
    conn: Connection, workspace_id: int, member_id: int, tag_id: int, *, now: datetime
) -> bool:
    """Put a tag on a member; False if it was already there."""
    _check_member(conn, workspace_id, member_id)
    if get_tag(conn, workspace_id, tag_id) is None:
        raise TagError(f"tag {tag_id} does not exist", "missing")
    there = conn.execute(
        select(_mt.c.tag_id).where(_mt.c.member_id == member_id, _mt.c.tag_id == tag_id)
    ).first()
    if there is not None:
        return False
    conn.execute(
        insert(_mt).values(member_id=member_id, tag_id=tag_id, source=MANUAL, created_at=now)
    )
    return True


def untag_member(conn: Connection, workspace_id: int, member_id: int, tag_id: int) -> bool:
    """Take a tag off a member; False if it was not there."""
    if member_row(conn, workspace_id, member_id) is None:
        raise TagError(f"member {member_id} does not exist", "missing")
    if get_tag(conn, workspace_id, tag_id) is None:
        raise TagError(f"tag {tag_id} does not exist", "missing")
    gone = conn.execute(
        delete(_mt).where(_mt.c.member_id == member_id, _mt.c.tag_id == tag_id)
    ).rowcount
    return gone > 0


@dataclass(frozen=True, slots=True)
class BulkResult:
    matched: int
    added: int


def bulk_assign(
    conn: Connection,
    workspace_id: int,
    tag_id: int,
    flt: MemberFilter,
    *,
    now: datetime,
) -> BulkResult:
    """Tag every member ``flt`` matches, in one ``INSERT … SELECT`` that skips members
    already tagged (so running it twice adds nothing the second time)."""
    if get_tag(conn, workspace_id, tag_id) is None:
        raise TagError(f"tag {tag_id} does not exist", "missing")
    conds = filter_conditions(flt, workspace_id, now=now, dialect=conn.dialect.name)
    matched = conn.execute(select(func.count()).select_from(_member).where(*conds)).scalar_one()
    already = exists(
        select(literal(1)).where(_mt.c.member_id == _member.c.id, _mt.c.tag_id == tag_id)
    )
    chosen = select(
        _member.c.id,
        literal(tag_id).label("tag_id"),
        literal(MANUAL).label("source"),
        literal(now, type_=_mt.c.created_at.type).label("created_at"),
    ).where(*conds, ~already)
    dialect_insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    statement = (
        dialect_insert(_mt)
        .from_select(["member_id", "tag_id", "source", "created_at"], chosen)
        .on_conflict_do_nothing(index_elements=["member_id", "tag_id"])
    )
    # SQLAlchemy reads an INSERT's row count only when asked to.
    added = conn.execute(statement.execution_options(preserve_rowcount=True)).rowcount
    return BulkResult(matched, added)
