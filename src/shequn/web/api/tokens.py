"""``/api/v1/tokens``: API tokens for scripts, made, listed and revoked.

A token's secret is returned once, when it is made, and never stored or logged;
the list shows its first characters so tokens can be told apart. A token's role
is at most its maker's, and the same rank rule decides who may revoke it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field

from shequn.features.audit.service import record
from shequn.features.operators import service as accounts
from shequn.features.operators.permissions import Role, may_grant
from shequn.features.operators.service import AccountError, Principal, TokenView
from shequn.web.api.operators import SOME_TEXT, Storable
from shequn.web.auth import CanManageTokens, actor_of
from shequn.web.context import web_of
from shequn.web.errors import ERROR_RESPONSES, Conflict, Invalid, NotFound
from shequn.web.paging import DEFAULT_LIMIT, MAX_LIMIT, Page, decode_cursor, encode_cursor

MAX_ID = 2**31 - 1

router = APIRouter(tags=["tokens"], responses=ERROR_RESPONSES)


class TokenOut(BaseModel):
    id: int
    name: str
    role: Role
    prefix: str = Field(description="The token's first characters, to tell tokens apart.")
    creator: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(TokenOut):
    secret: str = Field(description="The token itself. Shown this once: store it now.")


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Storable] = Field(min_length=1, max_length=100, pattern=SOME_TEXT)
    role: Role = Field(description="At most the role of whoever makes the token.")


def token_out(view: TokenView, creator: str) -> TokenOut:
    return TokenOut(
        id=view.id,
        name=view.name,
        role=Role(view.role),
        prefix=view.prefix,
        creator=creator,
        created_at=view.created_at,
        last_used_at=view.last_used_at,
        revoked_at=view.revoked_at,
    )


def create_token_as(
    request: Request, who: Principal, *, name: str, role: str
) -> tuple[TokenView, str]:
    """A new token and its secret; audited as ``token.create`` without the secret."""
    if not may_grant(who.role, role):
        raise Conflict(f"a {who.role} cannot make a token with the role {role}")
    web = web_of(request)
    now = web.app.clock.now()
    with web.write() as conn:
        view, secret = accounts.create_token(conn, who, name, role, now=now)
        record(
            conn,
            actor_of(request, who),
            "token.create",
            "api_token",
            view.id,
            after={"name": view.name, "role": view.role, "prefix": view.prefix},
            now=now,
        )
    return view, secret


def revoke_token_as(request: Request, who: Principal, token_id: int) -> TokenView:
    web = web_of(request)
    now = web.app.clock.now()
    with web.write() as conn:
        try:
            found = accounts.get_token(conn, who.workspace_id, token_id)
        except AccountError:
            raise NotFound(f"token {token_id} does not exist") from None
        if not may_grant(who.role, found.role):
            raise Conflict(f"a {who.role} cannot revoke a token with the role {found.role}")
        before, after = accounts.revoke_token(conn, who.workspace_id, token_id, now=now)
        if before.revoked_at is None:
            record(
                conn,
                actor_of(request, who),
                "token.revoke",
                "api_token",
                token_id,
                before={"name": before.name, "revoked_at": None},
                after={"name": after.name, "revoked_at": after.revoked_at},
                now=now,
            )
    return after


def creator_of(request: Request, who: Principal, view: TokenView) -> str:
    with web_of(request).read() as conn:
        try:
            return accounts.get_operator(conn, who.workspace_id, view.operator_id).username
        except AccountError:
            return ""


@router.get("/tokens", response_model=Page[TokenOut], summary="The workspace's API tokens")
def list_tokens(
    request: Request,
    who: CanManageTokens,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Page[TokenOut]:
    key = decode_cursor(cursor, 1)
    before = None
    if key is not None:
        if not isinstance(key[0], int) or isinstance(key[0], bool) or not 0 < key[0] <= MAX_ID:
            raise Invalid("the cursor is not one this server gave out")
        before = key[0]
    with web_of(request).read() as conn:
        found, more = accounts.tokens_page(conn, who.workspace_id, before_id=before, limit=limit)
    return Page[TokenOut](
        items=[token_out(view, creator) for view, creator in found],
        next_cursor=encode_cursor([more]) if more is not None else None,
    )


@router.post(
    "/tokens",
    response_model=TokenCreated,
    status_code=201,
    summary="Make a token; its secret is in this answer only",
)
def create_token(request: Request, who: CanManageTokens, body: TokenCreate) -> TokenCreated:
    view, secret = create_token_as(request, who, name=body.name, role=body.role.value)
    out = token_out(view, creator_of(request, who, view))
    return TokenCreated(**out.model_dump(), secret=secret)


@router.delete("/tokens/{token_id}", response_model=TokenOut, summary="Revoke a token")
def revoke_token(
    request: Request,
    who: CanManageTokens,
    token_id: Annotated[int, PathParam(ge=1, le=MAX_ID)],
) -> TokenOut:
    view = revoke_token_as(request, who, token_id)
    return token_out(view, creator_of(request, who, view))
