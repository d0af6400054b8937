"""``/api/v1/operators``: the people who may use the dashboard, and their roles.

Also the two changes the settings page shares with the API. An admin manages
operators and viewers and other admins, never an owner, and can make no one an
owner (``may_grant``); such a refusal is a conflict with the rules (409), not a
permission error. The service keeps the workspace's last active owner.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool

from shequn.features.audit.service import record
from shequn.features.operators import service as accounts
from shequn.features.operators.permissions import Role, may_grant
from shequn.features.operators.service import MIN_PASSWORD, AccountError, OperatorView, Principal
from shequn.web.auth import CanManageOperators, actor_of
from shequn.web.context import web_of
from shequn.web.errors import ERROR_RESPONSES, Conflict, Invalid, NotFound
from shequn.web.paging import DEFAULT_LIMIT, MAX_LIMIT, Page, decode_cursor, encode_cursor

MAX_ID = 2**31 - 1
USERNAME_PATTERN = r"^[A-Za-z0-9_.\-]{2,64}$"

router = APIRouter(tags=["operators"], responses=ERROR_RESPONSES)


def storable(value: str) -> str:
    """Refuse text no database column can hold: NUL characters (PostgreSQL) and lone
    surrogates (not UTF-8). Used on every free-text input of the admin routes."""
    if "\x00" in value:
        raise ValueError("the text contains a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("the text is not valid Unicode") from None
    return value


#: A free-text input that can be stored: ``Annotated[str, Form(...), Storable]``.
Storable = AfterValidator(storable)
#: The same rule as a pattern, so the API document states it: no NUL character.
NO_NUL = r"^[^\x00]*$"
#: No NUL, and at least one character that is not white space.
SOME_TEXT = r"^[^\x00]*[^\s\x00][^\x00]*$"


class OperatorOut(BaseModel):
    id: int
    username: str
    display_name: str
    role: Role
    locale: str | None
    disabled: bool
    created_at: datetime


class OperatorCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(pattern=USERNAME_PATTERN, description="2–64 letters, digits, . _ -")
    display_name: Annotated[str, Storable] = Field("", max_length=255, pattern=NO_NUL)
    role: Role
    password: Annotated[str, Storable] = Field(
        min_length=MIN_PASSWORD, max_length=1024, pattern=NO_NUL
    )


class OperatorPatch(BaseModel):
    """Only the fields given change; ``password`` resets the operator's password (and
    signs them out everywhere), as does disabling."""

    model_config = ConfigDict(extra="forbid")

    role: Role | None = None
    disabled: StrictBool | None = None
    display_name: Annotated[str, Field(max_length=255, pattern=NO_NUL), Storable] | None = None
    password: (
        Annotated[str, Field(min_length=MIN_PASSWORD, max_length=1024, pattern=NO_NUL), Storable]
        | None
    ) = None


def operator_out(view: OperatorView) -> OperatorOut:
    return OperatorOut(
        id=view.id,
        username=view.username,
        display_name=view.display_name,
        role=Role(view.role),
        locale=view.locale,
        disabled=view.disabled,
        created_at=view.created_at,
    )


def audited(view: OperatorView) -> dict[str, Any]:
    """What the audit log keeps of an operator (never a password or its hash)."""
    return {
        "username": view.username,
        "display_name": view.display_name,
        "role": view.role,
        "disabled": view.disabled,
    }


def _refuse_rank(who: Principal, role: str, doing: str) -> None:
    if not may_grant(who.role, role):
        raise Conflict(f"a {who.role} cannot {doing} {'an' if role[0] in 'aeiou' else 'a'} {role}")


def create_operator_as(
    request: Request,
    who: Principal,
    *,
    username: str,
    display_name: str,
    role: str,
    password: str,
) -> OperatorView:
    _refuse_rank(who, role, "make")
    web = web_of(request)
    now = web.app.clock.now()
    with web.write() as conn:
        created = accounts.create_operator(
            conn,
            who.workspace_id,
            username.strip(),
            password,
            role=role,
            now=now,
            display_name=display_name.strip()[:255],
        )
        record(
            conn,
            actor_of(request, who),
            "operator.create",
            "operator",
            created.id,
            after=audited(created),
            now=now,
        )
    return created


def update_operator_as(
    request: Request,
    who: Principal,
    operator_id: int,
    *,
    role: str | None = None,
    disabled: StrictBool | None = None,
    display_name: str | None = None,
    password: str | None = None,
) -> OperatorView:
    """Change another operator (or oneself) within the rank rules; audited as
    ``operator.update`` and, for a new password, ``operator.password``."""
    web = web_of(request)
    now = web.app.clock.now()
    with web.write() as conn:
        try:
            target = accounts.get_operator(conn, who.workspace_id, operator_id)
        except AccountError:
            raise NotFound(f"operator {operator_id} does not exist") from None
        _refuse_rank(who, target.role, "change")
        if role is not None:
            _refuse_rank(who, role, "make someone")
        before, after = accounts.update_operator(
            conn,
            who.workspace_id,
            operator_id,
            role=role,
            disabled=disabled,
            display_name=display_name,
            password=password,
        )
        actor = actor_of(request, who)
        if audited(before) != audited(after):
            record(
                conn,
                actor,
                "operator.update",
                "operator",
                operator_id,
                before=audited(before),
                after=audited(after),
                now=now,
            )
        if password is not None:
            record(
                conn,
                actor,
                "operator.password",
                "operator",
                operator_id,
                after={"reset_by": who.username},
                now=now,
            )
    return after


def _after_id(cursor: str | None) -> int | None:
    key = decode_cursor(cursor, 1)
    if key is None:
        return None
    if not isinstance(key[0], int) or isinstance(key[0], bool) or not 0 <= key[0] <= MAX_ID:
        raise Invalid("the cursor is not one this server gave out")
    return key[0]


@router.get("/operators", response_model=Page[OperatorOut], summary="The workspace's operators")
def list_operators(
    request: Request,
    who: CanManageOperators,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Page[OperatorOut]:
    with web_of(request).read() as conn:
        found, more = accounts.operators_page(
            conn, who.workspace_id, after_id=_after_id(cursor), limit=limit
        )
    return Page[OperatorOut](
        items=[operator_out(v) for v in found],
        next_cursor=encode_cursor([more]) if more is not None else None,
    )


@router.post("/operators", response_model=OperatorOut, status_code=201, summary="Add an operator")
def create_operator(request: Request, who: CanManageOperators, body: OperatorCreate) -> OperatorOut:
    created = create_operator_as(
        request,
        who,
        username=body.username,
        display_name=body.display_name,
        role=body.role.value,
        password=body.password,
    )
    return operator_out(created)


@router.get("/operators/{operator_id}", response_model=OperatorOut, summary="One operator")
def get_operator(
    request: Request,
    who: CanManageOperators,
    operator_id: Annotated[int, PathParam(ge=1, le=MAX_ID)],
) -> OperatorOut:
    with web_of(request).read() as conn:
        try:
            found = accounts.get_operator(conn, who.workspace_id, operator_id)
        except AccountError:
            raise NotFound(f"operator {operator_id} does not exist") from None
    return operator_out(found)


@router.patch(
    "/operators/{operator_id}",
    response_model=OperatorOut,
    summary="Change an operator's role, name, password, or disable them",
)
def patch_operator(
    request: Request,
    who: CanManageOperators,
    operator_id: Annotated[int, PathParam(ge=1, le=MAX_ID)],
    body: OperatorPatch,
) -> OperatorOut:
    changed = update_operator_as(
        request,
        who,
        operator_id,
        role=body.role.value if body.role else None,
        disabled=body.disabled,
        display_name=body.display_name,
        password=body.password,
    )
    return operator_out(changed)
