"""Operator accounts, sign-in, sessions and API tokens, over one database connection.

Callers own the transaction. Sessions and tokens are looked up by the SHA-256 of
what the browser or script presents; the plain secret is returned once, at
creation, and never stored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import Connection, delete, func, insert, select, update

from shequn.features.community.setup import DEFAULT_WORKSPACE
from shequn.features.operators.permissions import RANK, Role, may_grant
from shequn.features.operators.secrets import (
    TOKEN_PREFIX,
    hash_password,
    needs_rehash,
    new_token,
    token_hash,
    verify_password,
)
from shequn.kit.errors import ShequnError
from shequn.models import ApiToken, LoginAttempt, Operator, OperatorSession, Workspace

SESSION_LIFETIME = timedelta(days=14)
#: Failed sign-ins allowed per username, and per address, in ``ATTEMPT_WINDOW``.
MAX_FAILURES_PER_USER = 5
MAX_FAILURES_PER_ADDRESS = 30
ATTEMPT_WINDOW = timedelta(minutes=15)
MIN_PASSWORD = 8
_USERNAME = re.compile(r"^[A-Za-z0-9_.\-]{2,64}$")

_op = Operator.__table__
_sess = OperatorSession.__table__
_tok = ApiToken.__table__
_att = LoginAttempt.__table__


class AccountError(ShequnError):
    """An account change that cannot be made (the message says why)."""


class TooManyAttempts(ShequnError):
    """Sign-in refused for a while after repeated failures."""


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is making a request, and with what role."""

    operator_id: int
    workspace_id: int
    username: str
    display_name: str
    role: str
    locale: str | None
    via: Literal["session", "token"]
    session_hash: str | None = None
    csrf_token: str | None = None
    community_id: int | None = None
    token_id: int | None = None
    token_used_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class OperatorView:
    id: int
    username: str
    display_name: str
    role: str
    locale: str | None
    disabled: bool
    created_at: datetime


def _view(row: object) -> OperatorView:
    return OperatorView(**{f: getattr(row, f) for f in OperatorView.__slots__})


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"a password needs at least {MIN_PASSWORD} characters")


def create_operator(
    conn: Connection,
    workspace_id: int,
    username: str,
    password: str,
    *,
    role: str,
    now: datetime,
    display_name: str = "",
    check: bool = True,
) -> OperatorView:
    """A new operator. ``check=False`` skips the password-length rule (the demo's ``demo``)."""
    if not _USERNAME.match(username):
        raise AccountError("a username is 2 to 64 letters, digits, dots, dashes or underscores")
    Role(role)
    if check:
        check_password(password)
    if conn.execute(select(_op.c.id).where(_op.c.username == username)).first():
        raise AccountError(f"the username {username!r} is taken")
    new_id = conn.execute(
        insert(_op)
        .values(
            workspace_id=workspace_id,
            username=username,
            display_name=display_name or username,
            password_hash=hash_password(password),
            role=role,
            disabled=False,
            created_at=now,
        )
        .returning(_op.c.id)
    ).scalar_one()
    return get_operator(conn, workspace_id, new_id)


def get_operator(conn: Connection, workspace_id: int, operator_id: int) -> OperatorView:
    row = conn.execute(
        select(_op).where(_op.c.id == operator_id, _op.c.workspace_id == workspace_id)
    ).first()
    if row is None:
        raise AccountError(f"operator {operator_id} does not exist")
    return _view(row)


def list_operators(conn: Connection, workspace_id: int) -> list[OperatorView]:
    rows = conn.execute(select(_op).where(_op.c.workspace_id == workspace_id).order_by(_op.c.id))
    return [_view(r) for r in rows]


def count_operators(conn: Connection) -> int:
    return conn.execute(select(func.count()).select_from(_op)).scalar_one()


def update_operator(
    conn: Connection,
    workspace_id: int,
    operator_id: int,
    *,
    role: str | None = None,
    disabled: bool | None = None,
    display_name: str | None = None,
    locale: str | None | Literal[False] = False,
    password: str | None = None,
) -> tuple[OperatorView, OperatorView]:
    """Change an operator; returns (before, after). ``locale=None`` clears the
    preference (back to the browser's), ``False`` leaves it alone. Keeps at least
    one active owner."""
    before = get_operator(conn, workspace_id, operator_id)
    values: dict[str, object] = {}
    if role is not None:
        values["role"] = Role(role).value
    if disabled is not None:
        values["disabled"] = disabled
    if display_name is not None:
        values["display_name"] = display_name.strip()[:255] or before.username
    if locale is not False:
        values["locale"] = locale
    if password is not None:
        check_password(password)
        values["password_hash"] = hash_password(password)
    if values:
        conn.execute(update(_op).where(_op.c.id == operator_id).values(values))
    losing_owner = before.role == Role.OWNER and (
        values.get("role", Role.OWNER) != Role.OWNER or values.get("disabled") is True
    )
    if losing_owner and _active_owners(conn, workspace_id) == 0:
        raise AccountError("the workspace needs at least one active owner")
    if password is not None or values.get("disabled") is True:
        conn.execute(delete(_sess).where(_sess.c.operator_id == operator_id))
    return before, get_operator(conn, workspace_id, operator_id)


def _active_owners(conn: Connection, workspace_id: int) -> int:
    return conn.execute(
        select(func.count()).where(
            _op.c.workspace_id == workspace_id,
            _op.c.role == Role.OWNER.value,
            _op.c.disabled.is_(False),
        )
    ).scalar_one()


def _failures(conn: Connection, column: object, value: str, since: datetime) -> int:
    return conn.execute(
        select(func.count()).where(column == value, _att.c.at >= since, _att.c.ok.is_(False))
    ).scalar_one()


def authenticate(
    conn: Connection, username: str, password: str, *, address: str, now: datetime
) -> OperatorView | None:
    """The operator these credentials belong to, or None; every attempt is recorded.

    Raises TooManyAttempts before checking the password once the username or the
    address has failed too often lately, so guessing is slow whatever is guessed.
    """
    username = username.strip()[:64]
    since = now - ATTEMPT_WINDOW
    if (
        _failures(conn, _att.c.username, username, since) >= MAX_FAILURES_PER_USER
        or _failures(conn, _att.c.address, address, since) >= MAX_FAILURES_PER_ADDRESS
    ):
        raise TooManyAttempts("too many failed sign-ins; try again in 15 minutes")
    row = conn.execute(select(_op).where(_op.c.username == username)).first()
    ok = (
        verify_password(row.password_hash if row else None, password)
        and row is not None
        and not row.disabled
    )
    conn.execute(insert(_att).values(username=username, address=address[:64], ok=ok, at=now))
    if not ok or row is None:
        return None
    if needs_rehash(row.password_hash):
        conn.execute(
            update(_op).where(_op.c.id == row.id).values(password_hash=hash_password(password))
        )
    return _view(row)


def forget_attempts(conn: Connection, before: datetime) -> int:
    return conn.execute(delete(_att).where(_att.c.at < before)).rowcount


def start_session(conn: Connection, operator_id: int, *, now: datetime) -> tuple[str, str]:
    """A new session: (cookie token, CSRF token)."""
    token, csrf = new_token(), new_token()
    conn.execute(
        insert(_sess).values(
            token_hash=token_hash(token),
            operator_id=operator_id,
            csrf_token=csrf,
            created_at=now,
            expires_at=now + SESSION_LIFETIME,
        )
    )
    conn.execute(delete(_sess).where(_sess.c.expires_at < now))
    return token, csrf


def end_session(conn: Connection, token: str) -> None:
    conn.execute(delete(_sess).where(_sess.c.token_hash == token_hash(token)))


def set_session_community(conn: Connection, session_hash: str, community_id: int) -> None:
    conn.execute(
        update(_sess).where(_sess.c.token_hash == session_hash).values(community_id=community_id)
    )


def _principal_columns() -> list:
    return [
        _op.c.id,
        _op.c.workspace_id,
        _op.c.username,
        _op.c.display_name,
        _op.c.role,
        _op.c.locale,
    ]


def session_principal(conn: Connection, token: str, *, now: datetime) -> Principal | None:
    hashed = token_hash(token)
    row = conn.execute(
        select(*_principal_columns(), _sess.c.csrf_token, _sess.c.community_id)
        .join(_op, _op.c.id == _sess.c.operator_id)
        .where(_sess.c.token_hash == hashed, _sess.c.expires_at > now, _op.c.disabled.is_(False))
    ).first()
    if row is None:
        return None
    return Principal(
        row.id,
        row.workspace_id,
        row.username,
        row.display_name,
        row.role,
        row.locale,
        "session",
        session_hash=hashed,
        csrf_token=row.csrf_token,
        community_id=row.community_id,
    )


@dataclass(frozen=True, slots=True)
class TokenView:
    id: int
    name: str
    role: str
    prefix: str
    operator_id: int
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def create_token(
    conn: Connection, principal: Principal, name: str, role: str, *, now: datetime
) -> tuple[TokenView, str]:
    """A new API token acting as ``principal`` with ``role``; returns it and its secret,
    which is shown once."""
    name = name.strip()
    if not name or len(name) > 100:
        raise AccountError("a token needs a name of 1 to 100 characters")
    if not may_grant(principal.role, role):
        raise AccountError(f"a {principal.role} cannot make a token with the role {role}")
    secret = new_token(TOKEN_PREFIX)
    new_id = conn.execute(
        insert(_tok)
        .values(
            workspace_id=principal.workspace_id,
            operator_id=principal.operator_id,
            name=name,
            role=Role(role).value,
            prefix=secret[:10],
            token_hash=token_hash(secret),
            created_at=now,
        )
        .returning(_tok.c.id)
    ).scalar_one()
    return get_token(conn, principal.workspace_id, new_id), secret


def get_token(conn: Connection, workspace_id: int, token_id: int) -> TokenView:
    row = conn.execute(
        select(_tok).where(_tok.c.id == token_id, _tok.c.workspace_id == workspace_id)
    ).first()
    if row is None:
        raise AccountError(f"token {token_id} does not exist")
    return TokenView(**{f: getattr(row, f) for f in TokenView.__slots__})


def list_tokens(conn: Connection, workspace_id: int) -> list[TokenView]:
    rows = conn.execute(
        select(_tok).where(_tok.c.workspace_id == workspace_id).order_by(_tok.c.id.desc())
    )
    return [TokenView(**{f: getattr(r, f) for f in TokenView.__slots__}) for r in rows]


def revoke_token(
    conn: Connection, workspace_id: int, token_id: int, *, now: datetime
) -> tuple[TokenView, TokenView]:
    before = get_token(conn, workspace_id, token_id)
    if before.revoked_at is None:
        conn.execute(update(_tok).where(_tok.c.id == token_id).values(revoked_at=now))
    return before, get_token(conn, workspace_id, token_id)


def token_principal(conn: Connection, secret: str, *, now: datetime) -> Principal | None:
    if not secret.startswith(TOKEN_PREFIX):
        return None
    row = conn.execute(
        select(
            *_principal_columns(),
            _tok.c.id.label("token_id"),
            _tok.c.role.label("t_role"),
            _tok.c.last_used_at,
        )
        .join(_op, _op.c.id == _tok.c.operator_id)
        .where(
            _tok.c.token_hash == token_hash(secret),
            _tok.c.revoked_at.is_(None),
            _op.c.disabled.is_(False),
        )
    ).first()
    if row is None:
        return None
    # A token never does more than its creator may do today.
    role = min(row.t_role, row.role, key=lambda r: RANK.get(Role(r), -1))
    return Principal(
        row.id,
        row.workspace_id,
        row.username,
        row.display_name,
        role,
        row.locale,
        "token",
        token_id=row.token_id,
        token_used_at=row.last_used_at,
    )


#: How stale ``last_used_at`` may get: a token used every second writes once a minute,
#: not once a request, so reads never queue behind a writer for bookkeeping.
TOKEN_USE_RESOLUTION = timedelta(minutes=1)


def token_use_is_stale(principal: Principal, now: datetime) -> bool:
    used = principal.token_used_at
    return principal.token_id is not None and (used is None or used < now - TOKEN_USE_RESOLUTION)


def note_token_use(conn: Connection, token_id: int, *, now: datetime) -> None:
    conn.execute(
        update(_tok)
        .where(_tok.c.id == token_id)
        .where((_tok.c.last_used_at.is_(None)) | (_tok.c.last_used_at < now - TOKEN_USE_RESOLUTION))
        .values(last_used_at=now)
    )


def first_workspace(conn: Connection) -> int | None:
    return conn.execute(
        select(Workspace.__table__.c.id).order_by(Workspace.__table__.c.id)
    ).scalar()


def find_operator(conn: Connection, username: str) -> tuple[int, OperatorView] | None:
    """The operator with this username, and their workspace; None if there is none."""
    row = conn.execute(select(_op).where(_op.c.username == username.strip())).first()
    return (row.workspace_id, _view(row)) if row else None


def ensure_workspace(conn: Connection, *, now: datetime) -> int:
    """The first workspace, created (as ``default``) when there is none yet: the first
    operator may be made before anything is imported."""
    found = first_workspace(conn)
    if found is not None:
        return found
    return conn.execute(
        insert(Workspace.__table__)
        .values(name=DEFAULT_WORKSPACE, created_at=now)
        .returning(Workspace.__table__.c.id)
    ).scalar_one()


def operators_page(
    conn: Connection, workspace_id: int, *, after_id: int | None = None, limit: int = 50
) -> tuple[list[OperatorView], int | None]:
    """The workspace's operators in id order, a page at a time, and the id to continue
    after (None on the last page)."""
    query = select(_op).where(_op.c.workspace_id == workspace_id)
    if after_id is not None:
        query = query.where(_op.c.id > after_id)
    rows = conn.execute(query.order_by(_op.c.id).limit(limit + 1)).all()
    found = [_view(r) for r in rows[:limit]]
    return found, (found[-1].id if len(rows) > limit and found else None)


def tokens_page(
    conn: Connection, workspace_id: int, *, before_id: int | None = None, limit: int = 50
) -> tuple[list[tuple[TokenView, str]], int | None]:
    """The workspace's API tokens, newest first, each with its creator's username, a page
    at a time, and the id to continue before (None on the last page)."""
    query = (
        select(_tok, _op.c.username.label("creator"))
        .join(_op, _op.c.id == _tok.c.operator_id)
        .where(_tok.c.workspace_id == workspace_id)
    )
    if before_id is not None:
        query = query.where(_tok.c.id < before_id)
    rows = conn.execute(query.order_by(_tok.c.id.desc()).limit(limit + 1)).all()
    found = [
        (TokenView(**{f: getattr(r, f) for f in TokenView.__slots__}), r.creator)
        for r in rows[:limit]
    ]
    return found, (found[-1][0].id if len(rows) > limit and found else None)
