"""``/api/v1/broadcast/posts`` and ``/broadcast/preview``: the broadcast content library —
posts written once for many groups — and how each platform will show a post.

A post holds a text per language (``variants``, or ``text`` with ``lang`` for one), with
``{group}``, ``{date}``, ``{member_count}`` and ``{community}`` filled per group; images;
links; tags. A post the broadcast core refuses answers 422 with every problem in
``detail.problems`` (in the caller's language) and ``detail.items`` (each naming where,
in both languages), and nothing is stored. Every change is audited.

The helpers here (``refused``, ``community_id_of``, ``save``, ``remove``) are shared with
the jobs API and the dashboard pages, so both say the same things the same way.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection

from shequn.features.audit.service import record
from shequn.features.broadcast import service as broadcast
from shequn.features.broadcast.content import Rendered
from shequn.features.broadcast.library import MAX_TITLE
from shequn.features.broadcast.post import MAX_IMAGES, MAX_LABEL, MAX_LINKS, MAX_TAGS, MAX_URL
from shequn.features.broadcast.post import MAX_TEXT as MAX_POST_TEXT
from shequn.features.broadcast.problems import BroadcastError
from shequn.features.broadcast.store import community_info
from shequn.features.operators.service import Principal
from shequn.web.api.bots import community_for
from shequn.web.api.communities import Lang, lang_of
from shequn.web.api.operators import Storable
from shequn.web.auth import CanBroadcast, CanView, actor_of
from shequn.web.context import web_of
from shequn.web.errors import ERROR_RESPONSES, Invalid, NotFound
from shequn.web.paging import DEFAULT_LIMIT, MAX_LIMIT, Page, decode_cursor, encode_cursor

router = APIRouter(tags=["broadcast"], responses=ERROR_RESPONSES)
MAX_ID = 2**31 - 1
Id = Annotated[int, Path(ge=1, le=MAX_ID)]
CommunityParam = Annotated[
    int | None, Query(ge=1, le=MAX_ID, description="Defaults to the caller's current community")
]
LangParam = Annotated[Lang | None, Query(description="Language of the problems and the preview")]
Text = Annotated[str, Storable]


# --- shared with the jobs API and the pages ----------------------------------------------


class Refused(Invalid):
    """Input the broadcast core refused; ``detail.problems`` lists every reason."""


def refused(error: BroadcastError, lang: str) -> Refused:
    """The 422 a refusal answers: the problems in ``lang``, and each with where it is in
    both languages; for WeCom conflicts, each group and its next free day."""
    detail: dict[str, Any] = {
        "problems": error.lines(lang) or [str(error)],
        "items": [p.to_dict() for p in error.problems],
        "lang": lang,
    }
    if isinstance(error, broadcast.WeComConflicts):
        detail["conflicts"] = [
            {
                "group_id": int(c.group) if c.group.isdigit() else c.group,
                "day": c.day.isoformat(),
                "next_day": c.next_day.isoformat(),
                "next_slot": c.next_slot.isoformat(),
            }
            for c in error.conflicts
        ]
    return Refused("refused: " + "; ".join(error.lines("en") or [str(error)]), detail=detail)


def community_id_of(conn: Connection, who: Principal, community_id: int | None) -> int:
    return community_for(conn, who, community_id).community_id


def not_found(error: broadcast.BroadcastNotFound) -> NotFound:
    return NotFound(str(error))


def save(
    request: Request,
    who: Principal,
    community_id: int,
    data: dict[str, Any],
    *,
    lang: str,
    post_id: int | None = None,
) -> broadcast.PostRow:
    """Create or replace a post, audited; raises ``Refused`` with every problem."""
    web = web_of(request)
    now = web.app.clock.now()
    try:
        with web.write() as conn:
            before = broadcast.get_post(conn, community_id, post_id) if post_id else None
            saved = broadcast.save_post(
                conn, community_id, data, operator_id=who.operator_id, now=now, post_id=post_id
            )
            row = broadcast.get_post(conn, community_id, saved)
            record(
                conn,
                actor_of(request, who),
                "broadcast.post.update" if before else "broadcast.post.create",
                "post",
                saved,
                before=audit_form(before) if before else None,
                after=audit_form(row),
                now=now,
            )
    except broadcast.BroadcastNotFound as error:
        raise not_found(error) from None
    except BroadcastError as error:
        raise refused(error, lang) from None
    return row


def remove(request: Request, who: Principal, community_id: int, post_id: int, lang: str) -> None:
    """Delete a post, audited; refused while a job still sends it."""
    web = web_of(request)
    now = web.app.clock.now()
    try:
        with web.write() as conn:
            before = broadcast.get_post(conn, community_id, post_id)
            broadcast.delete_post(conn, community_id, post_id)
            record(
                conn,
                actor_of(request, who),
                "broadcast.post.delete",
                "post",
                post_id,
                before=audit_form(before),
                now=now,
            )
    except broadcast.BroadcastNotFound as error:
        raise not_found(error) from None
    except BroadcastError as error:
        raise refused(error, lang) from None


def audit_form(row: broadcast.PostRow) -> dict[str, Any]:
    return {"title": row.title, **{k: v for k, v in row.post.to_dict().items() if k != "id"}}


# --- models ------------------------------------------------------------------------------


class ImageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: Text = Field(max_length=MAX_URL)
    alt: Text | None = Field(default=None, max_length=MAX_LABEL)
    file_ids: dict[Annotated[str, Field(max_length=32)], Text] = Field(
        default_factory=dict, description="The platform's own id of the image, per platform"
    )


class LinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: Text = Field(max_length=MAX_URL)
    title: Text | None = Field(default=None, max_length=MAX_LABEL)


class PostIn(BaseModel):
    """A post: ``variants`` (language → text), or ``text`` with ``lang`` for one."""

    model_config = ConfigDict(extra="forbid")
    title: Text | None = Field(default=None, max_length=MAX_TITLE)
    text: Text | None = Field(default=None, max_length=MAX_POST_TEXT)
    lang: Annotated[str, Field(max_length=35)] | None = None
    variants: dict[Annotated[str, Field(max_length=35)], Text] | None = Field(
        default=None, max_length=10
    )
    default_lang: Annotated[str, Field(max_length=35)] | None = None
    images: list[ImageIn] = Field(default_factory=list, max_length=MAX_IMAGES)
    links: list[LinkIn] = Field(default_factory=list, max_length=MAX_LINKS)
    tags: list[Annotated[Text, Field(max_length=32)]] = Field(
        default_factory=list, max_length=MAX_TAGS
    )

    def data(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class PostCreate(PostIn):
    community_id: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="Defaults to the caller's current community"
    )

    def data(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True, exclude={"community_id"})


class ImageOut(BaseModel):
    url: str
    alt: str | None
    file_ids: dict[str, str]


class LinkOut(BaseModel):
    url: str
    title: str | None


class PostOut(BaseModel):
    id: int
    title: str
    variants: dict[str, str]
    default_lang: str
    images: list[ImageOut]
    links: list[LinkOut]
    tags: list[str]
    created_at: datetime
    updated_at: datetime


class ProblemOut(BaseModel):
    where: str
    text: str = Field(description="The problem in the requested language")


class RenderedOut(BaseModel):
    """A post as one platform will show it: ``blockers`` stop that platform's copies,
    ``warnings`` go out degraded (an image sent as its link)."""

    platform: str
    lang: str | None
    text: str = Field(description="The message as plain text")
    message: list[dict[str, Any]] = Field(description="The message's segments")
    length: int = Field(description="The text's length in the platform's own unit")
    ok: bool
    blockers: list[ProblemOut]
    warnings: list[ProblemOut]


class PreviewIn(BaseModel):
    """Preview a stored post (``post_id``) or one being written (``post``)."""

    model_config = ConfigDict(extra="forbid")
    post_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    post: PostIn | None = None
    targets: Text | None = Field(
        default=None,
        max_length=1000,
        description="all, tag:NAME, group:ID, platform:NAME…; every platform when left out",
    )
    community_id: int | None = Field(default=None, ge=1, le=MAX_ID)


def post_out(row: broadcast.PostRow) -> PostOut:
    p = row.post
    return PostOut(
        id=row.id,
        title=row.title,
        variants=dict(p.variants),
        default_lang=p.default_lang,
        images=[ImageOut(url=i.url, alt=i.alt, file_ids=dict(i.file_ids)) for i in p.images],
        links=[LinkOut(url=link.url, title=link.title) for link in p.links],
        tags=list(p.tags),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def rendered_out(r: Rendered, lang: str) -> RenderedOut:
    return RenderedOut(
        platform=r.platform,
        lang=r.lang,
        text=r.message.plain_text(),
        message=r.message.to_list(),
        length=r.length,
        ok=r.ok,
        blockers=[ProblemOut(where=p.where, text=p.text(lang)) for p in r.blockers],
        warnings=[ProblemOut(where=p.where, text=p.text(lang)) for p in r.warnings],
    )


def id_cursor(cursor: str | None) -> int | None:
    key = decode_cursor(cursor, 1)
    if key is None:
        return None
    if type(key[0]) is not int or not 0 <= key[0] <= MAX_ID:
        raise Invalid("the cursor is not one this server gave out")
    return key[0]


def run_preview(
    request: Request,
    community_id: int,
    source: dict[str, Any] | int,
    targets: str | None,
    lang: str,
) -> list[Rendered]:
    """The preview in the language the community's groups read (the variant they will
    get), or ``Refused`` naming in ``lang`` what is wrong with the post or the targets."""
    try:
        with web_of(request).read() as conn:
            readers = reader_lang(conn, community_id)
            return broadcast.preview(
                conn,
                community_id,
                source,
                targets=targets,
                lang=readers,
                now=web_of(request).app.clock.now(),
            )
    except broadcast.BroadcastNotFound as error:
        raise not_found(error) from None
    except BroadcastError as error:
        raise refused(error, lang) from None


def reader_lang(conn: Connection, community_id: int) -> str:
    """The language the community's groups read, which picks a post's variant."""
    info = community_info(conn, community_id)
    return info.lang if info is not None else "zh-CN"


# --- routes ------------------------------------------------------------------------------


@router.get(
    "/broadcast/posts", response_model=Page[PostOut], summary="The content library, newest first"
)
def list_posts(
    request: Request,
    who: CanView,
    tag: Annotated[str | None, Query(max_length=32)] = None,
    community_id: CommunityParam = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Page[PostOut]:
    before = id_cursor(cursor)
    with web_of(request).read() as conn:
        cid = community_id_of(conn, who, community_id)
        rows = broadcast.post_rows(conn, cid, tag=tag or None, before_id=before, limit=limit + 1)
    shown = rows[:limit]
    return Page[PostOut](
        items=[post_out(r) for r in shown],
        next_cursor=encode_cursor([shown[-1].id]) if len(rows) > limit and shown else None,
    )


@router.post("/broadcast/posts", response_model=PostOut, status_code=201, summary="Write a post")
def create_post(
    request: Request, who: CanBroadcast, body: PostCreate, lang: LangParam = None
) -> PostOut:
    """A post the core refuses answers 422 with every problem; nothing is stored."""
    with web_of(request).read() as conn:
        cid = community_id_of(conn, who, body.community_id)
    return post_out(save(request, who, cid, body.data(), lang=lang_of(request, who, lang)))


@router.get("/broadcast/posts/{post_id}", response_model=PostOut, summary="One post")
def get_post(
    request: Request, who: CanView, post_id: Id, community_id: CommunityParam = None
) -> PostOut:
    try:
        with web_of(request).read() as conn:
            row = broadcast.get_post(conn, community_id_of(conn, who, community_id), post_id)
    except broadcast.BroadcastNotFound as error:
        raise not_found(error) from None
    return post_out(row)


@router.put("/broadcast/posts/{post_id}", response_model=PostOut, summary="Rewrite a post")
def replace_post(
    request: Request,
    who: CanBroadcast,
    post_id: Id,
    body: PostIn,
    community_id: CommunityParam = None,
    lang: LangParam = None,
) -> PostOut:
    """The post is replaced as a whole; copies already queued keep the old text."""
    with web_of(request).read() as conn:
        cid = community_id_of(conn, who, community_id)
    wording = lang_of(request, who, lang)
    return post_out(save(request, who, cid, body.data(), lang=wording, post_id=post_id))


@router.delete("/broadcast/posts/{post_id}", status_code=204, summary="Delete a post")
def delete_post(
    request: Request,
    who: CanBroadcast,
    post_id: Id,
    community_id: CommunityParam = None,
    lang: LangParam = None,
) -> None:
    """Refused (422) while an active or paused job still sends the post."""
    with web_of(request).read() as conn:
        cid = community_id_of(conn, who, community_id)
    remove(request, who, cid, post_id, lang_of(request, who, lang))


@router.post(
    "/broadcast/preview",
    response_model=list[RenderedOut],
    summary="How each platform will show a post",
)
def preview_post(
    request: Request, who: CanView, body: PreviewIn, lang: LangParam = None
) -> list[RenderedOut]:
    """One preview per platform among the targeted groups (every platform of the
    community without ``targets``), in the variant the community's groups read, variables
    filled for one of its groups; problems in ``lang``."""
    wording = lang_of(request, who, lang)
    if (body.post_id is None) == (body.post is None):
        raise Invalid("give either post_id or post")
    source: dict[str, Any] | int = body.post.data() if body.post is not None else body.post_id  # type: ignore[assignment]
    with web_of(request).read() as conn:
        cid = community_id_of(conn, who, body.community_id)
    return [
        rendered_out(r, wording) for r in run_preview(request, cid, source, body.targets, wording)
    ]
