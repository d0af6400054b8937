"""The content library: posts stored, listed and deleted, the groups they can go to, and
a post previewed on each platform it would reach.

A post is checked by ``post.parse_post`` before it is written, and stored as its JSON
form; its id in idempotency keys is its row id. Its title is the operator's, or the
first line of its text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from shequn.features.broadcast.content import Rendered, render_checked, variable_values
from shequn.features.broadcast.localtime import local_date
from shequn.features.broadcast.platforms import PROFILES
from shequn.features.broadcast.post import Post, parse_post
from shequn.features.broadcast.problems import BroadcastError, Problem
from shequn.features.broadcast.store import (
    BroadcastNotFound,
    CommunityInfo,
    PostInUse,
    PostNotFound,
    community_info,
)
from shequn.features.broadcast.store import group_infos as _group_infos
from shequn.features.broadcast.targets import GroupInfo, resolve_targets
from shequn.kit.wording import echo
from shequn.models import BroadcastJob, BroadcastPost, Group, GroupTag, JobStatus, Tag

_p = BroadcastPost.__table__
_j = BroadcastJob.__table__
_g = Group.__table__
_gt = GroupTag.__table__
_t = Tag.__table__
#: A tag in a target spec: no spaces, commas or colons (as ``post`` checks a post's tags).
_TAG = re.compile(r"[^\s,:]{1,32}\Z")

MAX_TITLE = 200
OPEN = (JobStatus.ACTIVE.value, JobStatus.PAUSED.value)


@dataclass(frozen=True, slots=True)
class PostRow:
    id: int
    title: str
    post: Post
    tags: tuple[str, ...]
    created_at: datetime
    updated_at: datetime
    created_by: int | None = None

    @property
    def langs(self) -> list[str]:
        return sorted(self.post.variants)


def community_of(conn: Connection, community_id: int) -> CommunityInfo:
    found = community_info(conn, community_id)
    if found is None:
        raise BroadcastNotFound(f"no community {community_id}")
    return found


def _title(raw: object, post: Post) -> str:
    if raw is not None and not isinstance(raw, str):
        raise BroadcastError([Problem("title", "must be text", "必须是文本")])
    title = (raw or "").strip()
    if len(title) > MAX_TITLE:
        raise BroadcastError(
            [Problem("title", f"is longer than {MAX_TITLE} characters", f"超过 {MAX_TITLE} 个字符")]
        )
    if title:
        return title
    text = post.variants.get(post.default_lang) or next(iter(post.variants.values()), "")
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    if not first and post.links:
        first = post.links[0].title or post.links[0].url
    return (first or "—")[:60]


def _tag_column(tags: Sequence[str]) -> str:
    return f" {' '.join(tags)} " if tags else ""


def save_post(
    conn: Connection,
    community_id: int,
    data: Mapping[str, Any],
    *,
    operator_id: int | None,
    now: datetime,
    post_id: int | None = None,
) -> int:
    """Create (or, with ``post_id``, replace) a post after ``parse_post`` checked it;
    ``title`` may come with the data (else the text's first line). Returns its id."""
    community = community_of(conn, community_id)
    if not isinstance(data, Mapping):
        data = {"post": data}
    fields = {k: v for k, v in data.items() if k not in ("title", "id")}
    post = parse_post({**fields, "id": str(post_id or "new")})
    title = _title(data.get("title"), post)
    stored = {k: v for k, v in post.to_dict().items() if k != "id"}
    values = {"title": title, "data": stored, "tags": _tag_column(post.tags), "updated_at": now}
    if post_id is None:
        return int(
            conn.execute(
                insert(_p)
                .values(community_id=community.id, created_by=operator_id, created_at=now, **values)
                .returning(_p.c.id)
            ).scalar_one()
        )
    changed = conn.execute(
        update(_p)
        .where(_p.c.id == post_id, _p.c.community_id == community.id)
        .values(**values)
        .returning(_p.c.id)
    ).first()
    if changed is None:
        raise PostNotFound(f"no post {post_id} in community {community_id}")
    return post_id


def _post_row(row: Any) -> PostRow:
    post = parse_post({**row.data, "id": str(row.id)})
    return PostRow(
        row.id, row.title, post, post.tags, row.created_at, row.updated_at, row.created_by
    )


def post_rows(
    conn: Connection,
    community_id: int,
    *,
    tag: str | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[PostRow]:
    """The library, newest first, ``limit`` at most, below ``before_id`` when given."""
    query = select(_p).where(_p.c.community_id == community_id)
    if tag:
        escaped = tag.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(_p.c.tags.like(f"% {escaped} %", escape="\\"))
    if before_id is not None:
        query = query.where(_p.c.id < before_id)
    return [_post_row(r) for r in conn.execute(query.order_by(_p.c.id.desc()).limit(limit))]


def get_post(conn: Connection, community_id: int, post_id: int) -> PostRow:
    row = conn.execute(
        select(_p).where(_p.c.id == post_id, _p.c.community_id == community_id)
    ).first()
    if row is None:
        raise PostNotFound(f"no post {post_id} in community {community_id}")
    return _post_row(row)


def delete_post(conn: Connection, community_id: int, post_id: int) -> None:
    """Delete a post with its finished jobs and their reports; refused (``PostInUse``)
    while an active or paused job still sends it."""
    get_post(conn, community_id, post_id)
    using = list(
        conn.execute(
            select(_j.c.id).where(_j.c.post_id == post_id, _j.c.status.in_(OPEN))
        ).scalars()
    )
    if using:
        jobs = ", ".join(str(i) for i in using)
        raise PostInUse(
            [
                Problem(
                    f"post {post_id}",
                    f"is sent by job {jobs}; cancel the job first",
                    f"仍被任务 {jobs} 使用，请先取消任务",
                )
            ]
        )
    conn.execute(delete(_p).where(_p.c.id == post_id, _p.c.community_id == community_id))


def group_infos(conn: Connection, community_id: int) -> list[GroupInfo]:
    """The community's active groups as targets resolve over them."""
    return _group_infos(conn, community_of(conn, community_id))


def preview(
    conn: Connection,
    community_id: int,
    data_or_post_id: Mapping[str, Any] | int,
    *,
    targets: str | None,
    lang: str,
    now: datetime,
) -> list[Rendered]:
    """The post as each platform among the targeted groups (every platform the community
    has, without targets) will show it, variables filled for the first such group."""
    community = community_of(conn, community_id)
    if isinstance(data_or_post_id, int):
        post = get_post(conn, community_id, data_or_post_id).post
    else:
        fields = {k: v for k, v in data_or_post_id.items() if k not in ("title", "id")}
        post = parse_post({**fields, "id": "preview"})
    groups = _group_infos(conn, community)
    if targets is not None:
        groups = list(resolve_targets(targets, groups).groups)
    first: dict[str, GroupInfo] = {}
    for g in groups:
        if g.platform in PROFILES:
            first.setdefault(g.platform, g)
    today = local_date(now, community.zone)
    return [
        render_checked(
            post,
            platform,
            variable_values(
                day=today,
                lang=lang,
                group=g.name,
                community=g.community,
                member_count=g.member_count,
            ),
            lang,
        )
        for platform, g in sorted(first.items())
    ]


def set_group_tags(
    conn: Connection, community_id: int, group_id: int, tags: Sequence[str], *, now: datetime
) -> None:
    """Replace a group's tags (the workspace's tags, created when new): what ``tag:NAME``
    targets select."""
    community = community_of(conn, community_id)
    names = sorted({t.strip() for t in tags if t.strip()})
    bad = [t for t in names if not _TAG.match(t)]
    if bad:
        raise BroadcastError(
            [
                Problem(
                    f"tags “{echo(t)}”",
                    "must be 1–32 characters without spaces, commas or colons",
                    "必须是 1–32 个字符，不含空格、逗号或冒号",
                )
                for t in bad
            ]
        )
    found = conn.execute(
        select(_g.c.id).where(_g.c.id == group_id, _g.c.community_id == community.id)
    ).first()
    if found is None:
        raise BroadcastNotFound(f"no group {group_id} in community {community_id}")
    ids: list[int] = []
    for name in names:
        tag_id = conn.execute(
            select(_t.c.id).where(_t.c.workspace_id == community.workspace_id, _t.c.name == name)
        ).scalar()
        if tag_id is None:
            tag_id = conn.execute(
                insert(_t)
                .values(workspace_id=community.workspace_id, name=name, created_at=now)
                .returning(_t.c.id)
            ).scalar_one()
        ids.append(int(tag_id))
    conn.execute(delete(_gt).where(_gt.c.group_id == group_id))
    if ids:
        conn.execute(
            insert(_gt), [{"group_id": group_id, "tag_id": t, "created_at": now} for t in ids]
        )
