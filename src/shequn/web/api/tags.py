"""``/api/v1/tags``: the workspace's tags, and tagging every member a filter matches."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from shequn.features.audit.service import record
from shequn.features.community import tags as tagging
from shequn.features.community.member_filter import has_control
from shequn.features.operators.service import Principal
from shequn.web.api.members import MAX_ID, FilterBody, Id
from shequn.web.auth import CanEditMembers, CanManageTags, CanView, actor_of
from shequn.web.context import web_of
from shequn.web.errors import ERROR_RESPONSES, Invalid, NotFound
from shequn.web.paging import DEFAULT_LIMIT, MAX_LIMIT, Page, decode_cursor, encode_cursor

router = APIRouter(tags=["tags"], responses=ERROR_RESPONSES)

Color = Literal[tagging.PALETTE]  # type: ignore[valid-type]


def _name(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("a tag needs a name")
    if has_control(value) or "\n" in value or "\r" in value:
        raise ValueError("control characters are not allowed")
    return value


def _text(value: str | None) -> str | None:
    if value is not None and has_control(value):
        raise ValueError("control characters are not allowed")
    return value


TagName = Annotated[
    str, Field(min_length=1, max_length=tagging.MAX_TAG_NAME), AfterValidator(_name)
]
Description = Annotated[str, Field(max_length=tagging.MAX_DESCRIPTION), AfterValidator(_text)]


class TagOut(BaseModel):
    id: int
    name: str
    color: str | None
    description: str | None
    created_at: datetime
    members: int = Field(description="How many members carry the tag")


class TagCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: TagName
    color: Color | None = None
    description: Description | None = None


class TagPatch(BaseModel):
    """Fields to change; a field left out stays as it is."""

    model_config = ConfigDict(extra="forbid")
    name: TagName | None = None
    color: Color | None = None
    description: Description | None = None


class BulkOut(BaseModel):
    tag_id: int
    matched: int = Field(description="Members the filter matches")
    added: int = Field(description="Of those, how many did not have the tag yet")


def tag_out(t: tagging.TagInfo) -> TagOut:
    return TagOut(
        id=t.id,
        name=t.name,
        color=t.color,
        description=t.description,
        created_at=t.created_at,
        members=t.members,
    )


def _after(cursor: str | None) -> tuple[str, int] | None:
    key = decode_cursor(cursor, 2)
    if key is None:
        return None
    name, tag_id = key
    if not isinstance(name, str) or type(tag_id) is not int or not 0 <= tag_id <= MAX_ID:
        raise Invalid("the cursor is not one this server gave out")
    return name, tag_id


@router.get("/tags", response_model=Page[TagOut], summary="Tags, by name")
def list_tags(
    request: Request,
    who: CanView,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page[TagOut]:
    after = _after(cursor)
    with web_of(request).read() as conn:
        found = tagging.list_tags(conn, who.workspace_id, after=after, limit=limit + 1)
    page = found[:limit]
    more = len(found) > limit
    return Page[TagOut](
        items=[tag_out(t) for t in page],
        next_cursor=encode_cursor([page[-1].name, page[-1].id]) if more else None,
    )


def create(
    request: Request, who: Principal, name: str, color: str | None, description: str | None
) -> tagging.TagInfo:
    """Create a tag, audited; shared by the API and the tags page."""
    web = web_of(request)
    now = web.app.clock.now()
    with web.write() as conn:
        tag = tagging.create_tag(
            conn, who.workspace_id, name=name, color=color, description=description, now=now
        )
        record(conn, actor_of(request, who), "tag.create", "tag", tag.id, after=tag, now=now)
    return tag


def change(
    request: Request, who: Principal, tag_id: int, changes: dict[str, object]
) -> tagging.TagInfo:
    """Change a tag, audited; shared by the API and the tags page."""
    web = web_of(request)
    now = web.app.clock.now()
    with web.write() as conn:
        if tagging.get_tag(conn, who.workspace_id, tag_id) is None:
            raise NotFound(f"no tag {tag_id}")
        before, after = tagging.update_tag(conn, who.workspace_id, tag_id, changes)
        if before != after:
            record(
                conn,
                actor_of(request, who),
                "tag.update",
                "tag",
                tag_id,
                before=before,
                after=after,
                now=now,
            )
    return after


def remove(request: Request, who: Principal, tag_id: int) -> tagging.TagInfo:
    """Delete a tag, audited; shared by the API and the tags page."""
    web = web_of(request)
    now = web.app.clock.now()
    with web.write() as conn:
        if tagging.get_tag(conn, who.workspace_id, tag_id) is None:
            raise NotFound(f"no tag {tag_id}")
        before = tagging.delete_tag(conn, who.workspace_id, tag_id)
        record(conn, actor_of(request, who), "tag.delete", "tag", tag_id, before=before, now=now)
    return before


def assign_all(
    request: Request, who: Principal, tag_id: int, body: FilterBody
) -> tagging.BulkResult:
    """Tag every member the filter matches, audited once; shared by the API and the list."""
    web = web_of(request)
    now = web.app.clock.now()
    flt = body.to_filter()
    with web.write() as conn:
        tag = tagging.get_tag(conn, who.workspace_id, tag_id)
        if tag is None:
            raise NotFound(f"no tag {tag_id}")
        result = tagging.bulk_assign(conn, who.workspace_id, tag_id, flt, now=now)
        record(
            conn,
            actor_of(request, who),
            "tag.bulk_assign",
            "tag",
            tag_id,
            before={"tag": tag.name, "members": tag.members},
            after={
                "tag": tag.name,
                "filter": flt.as_dict(),
                "matched": result.matched,
                "added": result.added,
                "members": tag.members + result.added,
            },
            now=now,
        )
    return result


@router.post("/tags", response_model=TagOut, status_code=201, summary="Create a tag")
def create_tag(request: Request, who: CanManageTags, body: TagCreate) -> TagOut:
    """Names are unique in the workspace: a taken name answers 409."""
    return tag_out(create(request, who, body.name, body.color, body.description))


@router.get("/tags/{tag_id}", response_model=TagOut, summary="One tag")
def get_tag(request: Request, who: CanView, tag_id: Id) -> TagOut:
    with web_of(request).read() as conn:
        tag = tagging.get_tag(conn, who.workspace_id, tag_id)
    if tag is None:
        raise NotFound(f"no tag {tag_id}")
    return tag_out(tag)


@router.patch("/tags/{tag_id}", response_model=TagOut, summary="Rename or recolour a tag")
def patch_tag(request: Request, who: CanManageTags, tag_id: Id, body: TagPatch) -> TagOut:
    changes = body.model_dump(include=body.model_fields_set)
    if changes.get("name", "") is None:
        raise Invalid("a tag needs a name")
    return tag_out(change(request, who, tag_id, changes))


@router.delete("/tags/{tag_id}", response_model=TagOut, summary="Delete a tag")
def delete_tag(request: Request, who: CanManageTags, tag_id: Id) -> TagOut:
    """Takes the tag off every member; answers the tag as it was."""
    return tag_out(remove(request, who, tag_id))


@router.post(
    "/tags/{tag_id}/assign",
    response_model=BulkOut,
    summary="Tag every member a filter matches",
)
def assign_tag(request: Request, who: CanEditMembers, tag_id: Id, body: FilterBody) -> BulkOut:
    """The body is the member list's filter; members who already have the tag are skipped,
    so repeating the call adds nothing."""
    result = assign_all(request, who, tag_id, body)
    return BulkOut(tag_id=tag_id, matched=result.matched, added=result.added)
