"""Who is asking, and may they: the dependency every route declares.

A request is signed in by the session cookie (browsers) or by an
``Authorization: Bearer sq_…`` API token (scripts). A state-changing request
signed in by cookie must also carry the session's CSRF token, as the
``X-CSRF-Token`` header (HTMX and fetch) or the ``csrf_token`` form field, so
another site cannot make a browser act on an operator's behalf.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from shequn.features.audit.service import Actor
from shequn.features.operators import service as accounts
from shequn.features.operators.permissions import Permission, allows
from shequn.features.operators.service import Principal
from shequn.web.context import web_of
from shequn.web.errors import Forbidden, NotSignedIn

SESSION_COOKIE = "shequn_session"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def actor_of(request: Request, principal: Principal) -> Actor:
    """The audit log's view of who made a change, and from where."""
    return Actor(
        principal.workspace_id, principal.operator_id, principal.username, client_address(request)
    )


def _lookup(request: Request) -> Principal | None:
    web = web_of(request)
    now = web.app.clock.now()
    header = request.headers.get("authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() == "bearer" and secret.strip():
        with web.read() as conn:
            principal = accounts.token_principal(conn, secret.strip(), now=now)
        if principal is not None and accounts.token_use_is_stale(principal, now):
            with web.write() as conn:
                accounts.note_token_use(conn, principal.token_id, now=now)
        return principal
    if cookie := request.cookies.get(SESSION_COOKIE):
        with web.read() as conn:
            return accounts.session_principal(conn, cookie, now=now)
    return None


async def principal_of(request: Request) -> Principal | None:
    """The signed-in principal, looked up once per request."""
    if not hasattr(request.state, "principal"):
        request.state.principal = await run_in_threadpool(_lookup, request)
    return request.state.principal


async def _check_csrf(request: Request, principal: Principal) -> None:
    if request.method in SAFE_METHODS or principal.via != "session":
        return
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(_FORMS):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not sent or not hmac.compare_digest(sent, principal.csrf_token or ""):
        raise Forbidden("the form has expired or did not come from this site; reload and retry")


Guard = Callable[[Request], Awaitable[Principal]]


def require(permission: Permission) -> Guard:
    """A dependency that lets the request through only for a role with ``permission``."""

    async def guard(request: Request) -> Principal:
        principal = await principal_of(request)
        if principal is None:
            raise NotSignedIn("sign in first")
        await _check_csrf(request, principal)
        if not allows(principal.role, permission):
            raise Forbidden(f"the role {principal.role} may not {permission.value}")
        return principal

    guard.permission = permission  # type: ignore[attr-defined]
    return guard


async def public(request: Request) -> Principal | None:
    """Marks a route that anyone may reach (sign-in, static files); it still learns who
    is signed in, if anyone."""
    return await principal_of(request)


public.permission = None  # type: ignore[attr-defined]


def route_permission(dependency: Any) -> Permission | None | bool:
    """The permission a dependency stands for, None for ``public``, False if neither."""
    return getattr(dependency, "permission", False)


# What a route's signature says about who may call it, e.g. ``who: CanView``.
CanView = Annotated[Principal, Depends(require(Permission.VIEW))]
CanEditMembers = Annotated[Principal, Depends(require(Permission.EDIT_MEMBERS))]
CanManageTags = Annotated[Principal, Depends(require(Permission.MANAGE_TAGS))]
CanImport = Annotated[Principal, Depends(require(Permission.IMPORT))]
CanViewAudit = Annotated[Principal, Depends(require(Permission.VIEW_AUDIT))]
CanManageSettings = Annotated[Principal, Depends(require(Permission.MANAGE_SETTINGS))]
CanManageOperators = Annotated[Principal, Depends(require(Permission.MANAGE_OPERATORS))]
CanManageTokens = Annotated[Principal, Depends(require(Permission.MANAGE_TOKENS))]
CanManageRules = Annotated[Principal, Depends(require(Permission.MANAGE_RULES))]
CanModerate = Annotated[Principal, Depends(require(Permission.MODERATE))]
CanBroadcast = Annotated[Principal, Depends(require(Permission.BROADCAST))]
Public = Annotated[Principal | None, Depends(public)]
