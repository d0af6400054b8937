"""``/api/v1/members``: the member list with the dashboard's filters, profiles, notes,
tags on members, the timeline, and merging and unmerging."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from shequn.features.audit.service import record
from shequn.features.community import members as queries
from shequn.features.community import tags as tagging
from shequn.features.community.member_filter import Activity, MemberFilter, has_control, make_filter
from shequn.features.community.merge import MergeError
from shequn.features.community.unmerge import merge_recorded, unmerge_recorded
from shequn.features.operators.service import Principal
from shequn.web.auth import CanEditMembers, CanView, actor_of
from shequn.web.context import web_of
from shequn.web.errors import ERROR_RESPONSES, Conflict, Invalid, NotFound
from shequn.web.paging import DEFAULT_LIMIT, MAX_LIMIT, Page, decode_cursor, encode_cursor

router = APIRouter(tags=["members"], responses=ERROR_RESPONSES)

#: Ids are 32-bit in the schema: anything larger cannot exist and is refused as malformed.
MAX_ID = 2_147_483_647
Id = Annotated[int, Path(ge=1, le=MAX_ID)]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]


def _no_controls(value: str | None) -> str | None:
    if value is not None and has_control(value):
        raise ValueError("control characters are not allowed")
    return value


PlainText = Annotated[str, AfterValidator(_no_controls)]
SeatRole = Literal["owner", "admin", "member"]


def member_filter(
    q: Annotated[str | None, Query(max_length=200, description="Name, account or card")] = None,
    group_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    tag_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    role: Annotated[SeatRole | None, Query(description="Role in a group")] = None,
    activity: Activity | None = None,
) -> MemberFilter:
    """The list's filters from the query string (a dependency shared by list routes)."""
    return make_filter(q=q, group_id=group_id, tag_id=tag_id, role=role, activity=activity)


class FilterBody(BaseModel):
    """The member list's filters, as a body (bulk actions)."""

    model_config = ConfigDict(extra="forbid")
    q: str | None = Field(default=None, max_length=200)
    group_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    tag_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    role: SeatRole | None = None
    activity: Activity | None = None

    def to_filter(self) -> MemberFilter:
        return make_filter(
            q=self.q,
            group_id=self.group_id,
            tag_id=self.tag_id,
            role=self.role,
            activity=self.activity,
        )


class GroupOut(BaseModel):
    id: int
    name: str


class TagRefOut(BaseModel):
    id: int
    name: str
    color: str | None


class MemberItem(BaseModel):
    id: int
    display_name: str
    identities: int
    platforms: list[str]
    groups: list[GroupOut]
    messages: int
    last_active_at: datetime | None
    tags: list[TagRefOut]


class IdentityOut(BaseModel):
    id: int
    platform: str
    external_id: str
    display_name: str
    created_at: datetime


class MembershipOut(BaseModel):
    group_id: int
    group_name: str
    role: str
    title: str | None
    number: int
    card_name: str | None
    joined_at: datetime
    left_at: datetime | None
    entry_source: str | None
    messages: int
    first_message_at: datetime | None
    last_message_at: datetime | None


class MemberRefOut(BaseModel):
    id: int
    display_name: str


class MemberDetail(BaseModel):
    id: int
    display_name: str
    note: str | None
    created_at: datetime
    merged_into_id: int | None = Field(description="Set when this member was merged into another")
    identities: list[IdentityOut]
    memberships: list[MembershipOut]
    tags: list[TagRefOut]
    merged_members: list[MemberRefOut] = Field(description="Members merged into this one")


class MemberPatch(BaseModel):
    """Fields to change; a field left out stays as it is, a null note clears it."""

    model_config = ConfigDict(extra="forbid")
    note: PlainText | None = Field(default=None, max_length=queries.MAX_NOTE)
    display_name: PlainText | None = Field(default=None, min_length=1, max_length=queries.MAX_NAME)


class EventOut(BaseModel):
    id: int
    occurred_at: datetime
    group_id: int | None
    group_name: str | None
    type: str
    platform: str
    text: str | None


class TagAssignment(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tag_id: int = Field(ge=1, le=MAX_ID)


class TagChange(BaseModel):
    member_id: int
    tag_id: int
    changed: bool = Field(description="False when the member already had (or lacked) the tag")


class MergeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    member_id: int = Field(ge=1, le=MAX_ID, description="The member to merge into this one")


class MergeOut(BaseModel):
    kept: int
    merged: int
    identities_moved: int
    memberships_moved: int
    memberships_combined: int


class UnmergeOut(BaseModel):
    kept: int
    restored: int
    identities_moved: int
    groups: list[int]


def _item(row: queries.MemberRow) -> MemberItem:
    return MemberItem(
        id=row.id,
        display_name=row.display_name,
        identities=row.identities,
        platforms=row.platforms,
        groups=[GroupOut(id=g.id, name=g.name) for g in row.groups],
        messages=row.messages,
        last_active_at=row.last_active_at,
        tags=[TagRefOut(id=t.id, name=t.name, color=t.color) for t in row.tags],
    )


def detail_of(p: queries.MemberProfile) -> MemberDetail:
    return MemberDetail(
        id=p.id,
        display_name=p.display_name,
        note=p.note,
        created_at=p.created_at,
        merged_into_id=p.merged_into_id,
        identities=[IdentityOut(**vars_of(i)) for i in p.identities],
        memberships=[MembershipOut(**vars_of(s)) for s in p.memberships],
        tags=[TagRefOut(id=t.id, name=t.name, color=t.color) for t in p.tags],
        merged_members=[MemberRefOut(id=m.id, display_name=m.display_name) for m in p.merged],
    )


def vars_of(value: object) -> dict[str, object]:
    return {name: getattr(value, name) for name in value.__slots__}  # type: ignore[attr-defined]


def after_of(cursor: str | None) -> int | None:
    """The member id a list cursor continues after."""
    key = decode_cursor(cursor, 1)
    if key is None:
        return None
    if type(key[0]) is not int or not 0 <= key[0] <= MAX_ID:
        raise Invalid("the cursor is not one this server gave out")
    return key[0]


def before_of(cursor: str | None) -> tuple[datetime, int] | None:
    """The (time, event id) a timeline cursor continues before."""
    key = decode_cursor(cursor, 2)
    if key is None:
        return None
    at, eid = key
    if not isinstance(at, str) or type(eid) is not int or not 0 <= eid < 2**63:
        raise Invalid("the cursor is not one this server gave out")
    try:
        when = datetime.fromisoformat(at)
    except ValueError as exc:
        raise Invalid("the cursor is not one this server gave out") from exc
    if when.tzinfo is None:
        raise Invalid("the cursor is not one this server gave out")
    return when, eid


def timeline_cursor(before: tuple[datetime, int] | None) -> str | None:
    return encode_cursor([before[0].isoformat(), before[1]]) if before else None


def _profile(request: Request, who: Principal, member_id: int) -> queries.MemberProfile:
    with web_of(request).read() as conn:
        found = queries.profile(conn, who.workspace_id, member_id)
    if found is None:
        raise NotFound(f"no member {member_id}")
    return found


@router.get("/members", response_model=Page[MemberItem], summary="Members, filtered")
def list_members(
    request: Request,
    who: CanView,
    flt: Annotated[MemberFilter, Depends(member_filter)],
    limit: Limit = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page[MemberItem]:
    """Active (not merged) members in id order. ``total`` counts every match."""
    web = web_of(request)
    now = web.app.clock.now()
    after = after_of(cursor)
    with web.read() as conn:
        page = queries.list_members(conn, who.workspace_id, flt, now=now, after=after, limit=limit)
    return Page[MemberItem](
        items=[_item(r) for r in page.rows],
        next_cursor=encode_cursor([page.next_after]) if page.next_after is not None else None,
        total=page.total,
    )


@router.get("/members/{member_id}", response_model=MemberDetail, summary="One member")
def get_member(request: Request, who: CanView, member_id: Id) -> MemberDetail:
    """A merged member is returned too, with ``merged_into_id`` saying where it went."""
    return detail_of(_profile(request, who, member_id))


@router.patch("/members/{member_id}", response_model=MemberDetail, summary="Change note or name")
def patch_member(
    request: Request, who: CanEditMembers, member_id: Id, body: MemberPatch
) -> MemberDetail:
    web = web_of(request)
    changes = body.model_dump(include=body.model_fields_set)
    with web.write() as conn:
        row = queries.member_row(conn, who.workspace_id, member_id)
        if row is None:
            raise NotFound(f"no member {member_id}")
        if row.merged_into_id is not None:
            raise Conflict(f"member {member_id} was merged into {row.merged_into_id}")
        before, after = queries.update_member(conn, who.workspace_id, member_id, changes)
        if before != after:
            action = "member.note" if set(after) == {"note"} else "member.update"
            record(
                conn,
                actor_of(request, who),
                action,
                "member",
                member_id,
                before=before,
                after=after,
                now=web.app.clock.now(),
            )
    return detail_of(_profile(request, who, member_id))


@router.get(
    "/members/{member_id}/events", response_model=Page[EventOut], summary="A member's timeline"
)
def member_events(
    request: Request,
    who: CanView,
    member_id: Id,
    limit: Limit = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page[EventOut]:
    """Events of the member's identities, newest first."""
    before = before_of(cursor)
    with web_of(request).read() as conn:
        if queries.member_row(conn, who.workspace_id, member_id) is None:
            raise NotFound(f"no member {member_id}")
        found = queries.timeline(conn, member_id, before=before, limit=limit)
    return Page[EventOut](
        items=[EventOut(**vars_of(i)) for i in found.items],
        next_cursor=timeline_cursor(found.next_before),
    )


def tag_change(request: Request, who: Principal, member_id: int, tag_id: int, *, add: bool) -> bool:
    """Put on or take off one tag, audited; shared by the API and the profile page."""
    web = web_of(request)
    now = web.app.clock.now()
    with web.write() as conn:
        row = queries.member_row(conn, who.workspace_id, member_id)
        if row is None:
            raise NotFound(f"no member {member_id}")
        tag = tagging.get_tag(conn, who.workspace_id, tag_id)
        if tag is None:
            raise NotFound(f"no tag {tag_id}")
        if add:
            changed = tagging.tag_member(conn, who.workspace_id, member_id, tag_id, now=now)
        else:
            changed = tagging.untag_member(conn, who.workspace_id, member_id, tag_id)
        if changed:
            record(
                conn,
                actor_of(request, who),
                "member.tag" if add else "member.untag",
                "member",
                member_id,
                before={"tag_id": tag_id, "tag": tag.name, "tagged": not add},
                after={"tag_id": tag_id, "tag": tag.name, "tagged": add},
                now=now,
            )
    return changed


@router.post("/members/{member_id}/tags", response_model=TagChange, summary="Tag a member")
def add_tag(request: Request, who: CanEditMembers, member_id: Id, body: TagAssignment) -> TagChange:
    changed = tag_change(request, who, member_id, body.tag_id, add=True)
    return TagChange(member_id=member_id, tag_id=body.tag_id, changed=changed)


@router.delete(
    "/members/{member_id}/tags/{tag_id}", response_model=TagChange, summary="Untag a member"
)
def remove_tag(request: Request, who: CanEditMembers, member_id: Id, tag_id: Id) -> TagChange:
    changed = tag_change(request, who, member_id, tag_id, add=False)
    return TagChange(member_id=member_id, tag_id=tag_id, changed=changed)


def merge_into(request: Request, who: Principal, keep: int, other: int) -> MergeOut:
    """Merge ``other`` into ``keep``, audited; shared by the API and the profile page."""
    web = web_of(request)
    with web.write() as conn:
        for mid in (keep, other):
            if queries.member_row(conn, who.workspace_id, mid) is None:
                raise NotFound(f"no member {mid}")
        try:
            result = merge_recorded(
                conn, actor_of(request, who), keep, other, now=web.app.clock.now()
            )
        except MergeError as exc:
            raise Conflict(str(exc)) from exc
    return MergeOut(
        kept=result.kept,
        merged=result.merged,
        identities_moved=result.identities_moved,
        memberships_moved=result.memberships_moved,
        memberships_combined=result.memberships_combined,
    )


def unmerge(request: Request, who: Principal, merged: int) -> UnmergeOut:
    """Unmerge ``merged``, audited; shared by the API and the profile page."""
    web = web_of(request)
    with web.write() as conn:
        if queries.member_row(conn, who.workspace_id, merged) is None:
            raise NotFound(f"no member {merged}")
        result = unmerge_recorded(conn, actor_of(request, who), merged, now=web.app.clock.now())
    return UnmergeOut(
        kept=result.kept,
        restored=result.restored,
        identities_moved=result.identities_moved,
        groups=result.groups,
    )


@router.post(
    "/members/{member_id}/merge",
    response_model=MergeOut,
    summary="Merge another member into this one",
)
def merge_member(
    request: Request, who: CanEditMembers, member_id: Id, body: MergeRequest
) -> MergeOut:
    return merge_into(request, who, member_id, body.member_id)


@router.post(
    "/members/{member_id}/unmerge",
    response_model=UnmergeOut,
    summary="Undo the merge of this member into another",
)
def unmerge_member(request: Request, who: CanEditMembers, member_id: Id) -> UnmergeOut:
    """Its identities come back, and both members' seats and activity are recomputed from
    the event log; tags stay with the member it had been merged into."""
    return unmerge(request, who, member_id)
