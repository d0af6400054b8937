"""``/api/v1/invite-codes``: invite codes handed out in batches, listed, withdrawn, and
the arrivals each source brought.

A batch shares its terms: the group it admits to (or any group of the community), the
source it goes out through (a poster, a partner…), how many people may use each code
and until when. Terms that cannot work answer 422 with every problem in
``detail.problems``, and nothing is made. Every change is audited; the audit keeps how
many codes were made and on what terms, never the codes themselves, which are keys.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy import Connection

from shequn.features.admission import service as admission
from shequn.features.admission.codes import MAX_CHANNEL
from shequn.features.audit.service import record
from shequn.features.operators.service import Principal
from shequn.kit.errors import RuleError
from shequn.web.api.bots import community_for
from shequn.web.api.communities import Lang, lang_of
from shequn.web.api.operators import NO_NUL, Storable
from shequn.web.api.rule_edits import groups_of
from shequn.web.auth import CanManageRules, CanView, actor_of
from shequn.web.context import web_of
from shequn.web.errors import ERROR_RESPONSES, Invalid, NotFound
from shequn.web.paging import DEFAULT_LIMIT, MAX_LIMIT, Page, decode_cursor, encode_cursor

router = APIRouter(tags=["invite codes"], responses=ERROR_RESPONSES)
MAX_ID = 2**31 - 1
#: The most codes one request makes (the service lists a batch back a page at a time).
MAX_COUNT = admission.MAX_PAGE
MAX_USES = 1_000_000
CommunityParam = Annotated[int | None, Query(ge=1, le=MAX_ID)]


def _storable_instant(value: datetime) -> datetime:
    """An instant every database stores: one that has a UTC form."""
    try:
        value.astimezone(UTC)
    except OverflowError:
        raise ValueError("the time is out of range") from None
    return value


Expiry = Annotated[AwareDatetime, AfterValidator(_storable_instant)]


class InviteCodeOut(BaseModel):
    id: int
    code: str
    group_id: int | None = Field(description="Null: any group of the community")
    group_name: str | None
    source: str = Field(
        description="Where the code was handed out; empty for nowhere in particular"
    )
    max_uses: int | None = Field(description="Null: unlimited")
    uses: int
    expires_at: datetime | None
    disabled: bool
    created_at: datetime


class CodesCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    group_id: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="Null: the codes admit to any group"
    )
    source: Annotated[str, Storable] = Field(default="", max_length=MAX_CHANNEL, pattern=NO_NUL)
    count: int = Field(default=1, ge=1, le=MAX_COUNT)
    max_uses: int | None = Field(default=1, ge=1, le=MAX_USES, description="Null: unlimited")
    expires_at: Expiry | None = None
    community_id: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="Defaults to the caller's current community"
    )


class CodesMade(BaseModel):
    codes: list[str]
    items: list[InviteCodeOut]


class SourceUses(BaseModel):
    source: str
    uses: int = Field(description="People who came in with the source's codes")


def code_out(row: admission.CodeRow, names: dict[int, str]) -> InviteCodeOut:
    return InviteCodeOut(
        id=row.id,
        code=row.code,
        group_id=row.group_id,
        group_name=names.get(row.group_id) if row.group_id is not None else None,
        source=row.source,
        max_uses=row.max_uses,
        uses=row.uses,
        expires_at=row.expires_at,
        disabled=row.disabled,
        created_at=row.created_at,
    )


class CodesRefused(Invalid):
    """Terms the admission logic refused; ``detail.problems`` lists why."""


def make_codes(
    request: Request,
    who: Principal,
    community_id: int,
    *,
    group_id: int | None,
    source: str,
    count: int,
    max_uses: int | None,
    expires_at: datetime | None,
    lang: str,
) -> list[admission.CodeRow]:
    """Make a batch of codes, audited; shared by the API and the page. Raises
    CodesRefused naming every bad term, and makes nothing then."""
    web = web_of(request)
    now = web.app.clock.now()
    try:
        with web.write() as conn:
            made = admission.create_codes(
                conn,
                community_id,
                group_id=group_id,
                source=source,
                count=count,
                max_uses=max_uses,
                expires_at=expires_at,
                now=now,
            )
            wanted = set(made)
            rows = [
                r
                for r in admission.code_rows(conn, community_id, limit=len(made))
                if r.code in wanted
            ]
            record(
                conn,
                actor_of(request, who),
                "invite.create",
                "invite_code",
                rows[0].id if rows else "",
                after={
                    "count": len(made),
                    "group_id": group_id,
                    "source": source.strip(),
                    "max_uses": max_uses,
                    "expires_at": expires_at,
                    "ids": [r.id for r in rows],
                },
                now=now,
            )
    except RuleError as error:
        problems = error.lines(lang) or [str(error)]
        raise CodesRefused(
            "the codes cannot be made: " + "; ".join(error.lines("en") or [str(error)]),
            detail={"problems": problems, "lang": lang},
        ) from None
    return rows


def code_row(conn: Connection, community_id: int, code_id: int) -> admission.CodeRow:
    rows = admission.code_rows(conn, community_id, before_id=code_id + 1, limit=1)
    if not rows or rows[0].id != code_id:
        raise NotFound(f"no invite code {code_id}")
    return rows[0]


def disable(request: Request, who: Principal, community_id: int, code_id: int) -> admission.CodeRow:
    """Withdraw a code, audited; shared by the API and the page."""
    web = web_of(request)
    now = web.app.clock.now()
    with web.write() as conn:
        before = code_row(conn, community_id, code_id)
        if not before.disabled:
            admission.disable_code(conn, community_id, code_id)
            record(
                conn,
                actor_of(request, who),
                "invite.disable",
                "invite_code",
                code_id,
                before={"disabled": False, "uses": before.uses},
                after={"disabled": True, "uses": before.uses},
                now=now,
            )
        return code_row(conn, community_id, code_id)


def code_cursor(cursor: str | None) -> int | None:
    key = decode_cursor(cursor, 1)
    if key is None:
        return None
    if type(key[0]) is not int or not 0 <= key[0] <= MAX_ID:
        raise Invalid("the cursor is not one this server gave out")
    return key[0]


@router.get(
    "/invite-codes", response_model=Page[InviteCodeOut], summary="Invite codes, newest first"
)
def list_codes(
    request: Request,
    who: CanView,
    group_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    community_id: CommunityParam = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Page[InviteCodeOut]:
    before = code_cursor(cursor)
    with web_of(request).read() as conn:
        ref = community_for(conn, who, community_id)
        rows = admission.code_rows(
            conn, ref.community_id, group_id=group_id, before_id=before, limit=limit + 1
        )
        names = groups_of(conn, ref.community_id)
    shown = rows[:limit]
    return Page[InviteCodeOut](
        items=[code_out(r, names) for r in shown],
        next_cursor=encode_cursor([shown[-1].id]) if len(rows) > limit and shown else None,
    )


@router.post(
    "/invite-codes",
    response_model=CodesMade,
    status_code=201,
    summary="Make a batch of invite codes on the same terms",
)
def create_codes(
    request: Request,
    who: CanManageRules,
    body: CodesCreate,
    lang: Annotated[Lang | None, Query(description="Language of the problems")] = None,
) -> CodesMade:
    with web_of(request).read() as conn:
        ref = community_for(conn, who, body.community_id)
        names = groups_of(conn, ref.community_id)
    rows = make_codes(
        request,
        who,
        ref.community_id,
        group_id=body.group_id,
        source=body.source,
        count=body.count,
        max_uses=body.max_uses,
        expires_at=body.expires_at,
        lang=lang_of(request, who, lang),
    )
    return CodesMade(codes=[r.code for r in rows], items=[code_out(r, names) for r in rows])


@router.get(
    "/invite-codes/sources",
    response_model=list[SourceUses],
    summary="How many people each source brought in",
)
def source_uses(
    request: Request, who: CanView, community_id: CommunityParam = None
) -> list[SourceUses]:
    with web_of(request).read() as conn:
        ref = community_for(conn, who, community_id)
        counts = admission.uses_by_source(conn, ref.community_id)
    return [SourceUses(source=s, uses=n) for s, n in counts.items()]


@router.post(
    "/invite-codes/{code_id}/disable",
    response_model=InviteCodeOut,
    summary="Withdraw a code: it refuses everyone from now on",
)
def disable_code(
    request: Request,
    who: CanManageRules,
    code_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    community_id: CommunityParam = None,
) -> InviteCodeOut:
    with web_of(request).read() as conn:
        ref = community_for(conn, who, community_id)
        names = groups_of(conn, ref.community_id)
    return code_out(disable(request, who, ref.community_id, code_id), names)
