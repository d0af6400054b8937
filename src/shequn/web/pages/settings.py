"""``/settings``: one's own account, and (by role) operators, API tokens and the community.

Every operator sees their own section: display name, language, password; those
routes only ever change the caller's own account. The other sections appear to
the roles that may use them, and their forms post to routes that check again.
A refused change re-renders the page with the reason and the refusal's status;
a successful one redirects back (Post/Redirect/Get) with a fixed notice.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import RedirectResponse, Response

from shequn.features.audit.service import record
from shequn.features.imports import service as jobs
from shequn.features.imports.logic import elapsed
from shequn.features.imports.recount import COMMON_ZONES, get_settings
from shequn.features.operators import service as accounts
from shequn.features.operators.permissions import Permission, Role, allows, may_grant
from shequn.features.operators.service import MIN_PASSWORD, SESSION_LIFETIME, Principal
from shequn.kit.errors import ShequnError
from shequn.web import i18n
from shequn.web.api.imports import jobs_of
from shequn.web.api.operators import Storable, create_operator_as, update_operator_as
from shequn.web.api.settings import change_community_as, recount_as
from shequn.web.api.tokens import create_token_as, revoke_token_as
from shequn.web.auth import (
    SESSION_COOKIE,
    CanManageOperators,
    CanManageSettings,
    CanManageTokens,
    CanView,
    actor_of,
    client_address,
)
from shequn.web.context import web_of
from shequn.web.errors import Invalid, NotFound, WebError
from shequn.web.rendering import PageContext, page_context, render

router = APIRouter(include_in_schema=False)
MAX_ID = 2**31 - 1
#: The notices a redirect back may ask for; anything else is ignored.
NOTICES = frozenset(
    {
        "profile",
        "password",
        "operator-created",
        "operator-changed",
        "operator-password",
        "token-revoked",
        "community",
        "recount",
    }
)
#: How many operators and tokens the page lists (the API pages through any number).
SHOWN = 200

Id = Annotated[int, PathParam(ge=1, le=MAX_ID)]


def _recount_context(request: Request, page: PageContext) -> dict[str, Any]:
    job = None
    if page.community is not None:
        jobs_of(request.app)
        with web_of(request).read() as conn:
            job = jobs.latest_recount(conn, page.community.community_id)
    now = web_of(request).app.clock.now()
    return {
        "recount": job,
        "recount_elapsed": elapsed(job.started_at, job.finished_at, now) if job else "",
    }


def _settings_page(
    request: Request,
    who: Principal,
    *,
    error: str | None = None,
    status: int = 200,
    notice: str | None = None,
) -> Response:
    page = page_context(request, who)
    web = web_of(request)
    operators: list[Any] = []
    tokens: list[Any] = []
    community = None
    with web.read() as conn:
        me = accounts.get_operator(conn, who.workspace_id, who.operator_id)
        if allows(who.role, Permission.MANAGE_OPERATORS):
            operators, _ = accounts.operators_page(conn, who.workspace_id, limit=SHOWN)
        if allows(who.role, Permission.MANAGE_TOKENS):
            tokens, _ = accounts.tokens_page(conn, who.workspace_id, limit=SHOWN)
        if page.community is not None:
            community = get_settings(conn, who.workspace_id, page.community.community_id)
    return render(
        request,
        "settings/index.html.j2",
        {
            "me": me,
            "operators": operators,
            "tokens": tokens,
            "community_settings": community,
            "zones": COMMON_ZONES,
            "roles": [r.value for r in Role],
            "grantable": [r.value for r in Role if may_grant(who.role, r)],
            "may_change": lambda role: may_grant(who.role, role),
            "error": error,
            "notice": notice if notice in NOTICES else None,
            "min_password": MIN_PASSWORD,
            "active": "settings",
        }
        | _recount_context(request, page),
        page=page,
        status=status,
    )


def _act(request: Request, who: Principal, change: Callable[[], Any], notice: str) -> Response:
    """Carry out a change; back to the page with a notice, or the page with the refusal."""
    try:
        change()
    except NotFound:
        raise
    except WebError as exc:
        return _settings_page(request, who, error=exc.message, status=exc.status)
    except ShequnError as exc:
        return _settings_page(request, who, error=str(exc), status=409)
    return RedirectResponse(f"/settings?notice={notice}", status_code=303)


@router.get("/settings")
def settings_page(
    request: Request,
    who: CanView,
    notice: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    return _settings_page(request, who, notice=notice)


@router.get("/settings/recount")
def recount_status(request: Request, who: CanView) -> Response:
    """The current community's recount status alone, for the page to poll."""
    page = page_context(request, who)
    return render(request, "settings/_recount.html.j2", _recount_context(request, page), page=page)


# --- one's own account ---------------------------------------------------------------


@router.post("/settings/profile")
def change_profile(
    request: Request,
    who: CanView,
    display_name: Annotated[str, Form(max_length=255), Storable] = "",
    locale: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    """The caller's own display name and language ("" follows the browser)."""
    chosen = i18n.normalise(locale) if locale else None
    if locale and chosen is None:
        raise Invalid(f"unknown language {locale[:16]!r}")

    def change() -> None:
        web = web_of(request)
        with web.write() as conn:
            before, after = accounts.update_operator(
                conn,
                who.workspace_id,
                who.operator_id,
                display_name=display_name,
                locale=chosen,
            )
            if (before.display_name, before.locale) != (after.display_name, after.locale):
                record(
                    conn,
                    actor_of(request, who),
                    "operator.update",
                    "operator",
                    who.operator_id,
                    before={"display_name": before.display_name, "locale": before.locale},
                    after={"display_name": after.display_name, "locale": after.locale},
                    now=web.app.clock.now(),
                )

    return _act(request, who, change, "profile")


@router.post("/settings/password")
def change_own_password(
    request: Request,
    who: CanView,
    current_password: Annotated[str, Form(max_length=1024)],
    new_password: Annotated[str, Form(max_length=1024), Storable],
    confirm_password: Annotated[str, Form(max_length=1024)],
) -> Response:
    """The caller's own password, given the current one. Other browsers are signed out;
    this one gets a fresh session."""
    web = web_of(request)
    now = web.app.clock.now()
    try:
        if new_password != confirm_password:
            raise Invalid("the new password and its confirmation differ")
        accounts.check_password(new_password)
        with web.write() as conn:  # committed on its own: a wrong guess counts as one
            known = accounts.authenticate(
                conn, who.username, current_password, address=client_address(request), now=now
            )
        if known is None or known.id != who.operator_id:
            raise Invalid("the current password is wrong")
        with web.write() as conn:
            accounts.update_operator(conn, who.workspace_id, who.operator_id, password=new_password)
            record(
                conn,
                actor_of(request, who),
                "operator.password",
                "operator",
                who.operator_id,
                after={"changed_by": "self"},
                now=now,
            )
            token = accounts.start_session(conn, who.operator_id, now=now)[0]
    except WebError as exc:
        return _settings_page(request, who, error=exc.message, status=exc.status)
    except ShequnError as exc:
        return _settings_page(request, who, error=str(exc), status=409)
    response = RedirectResponse("/settings?notice=password", status_code=303)
    if who.via == "session":
        response.set_cookie(
            SESSION_COOKIE,
            token,
            max_age=int(SESSION_LIFETIME.total_seconds()),
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https" or web.force_secure_cookies,
            path="/",
        )
    return response


# --- operators ---------------------------------------------------------------------------


@router.post("/settings/operators")
def add_operator(
    request: Request,
    who: CanManageOperators,
    username: Annotated[str, Form(max_length=64), Storable],
    password: Annotated[str, Form(max_length=1024), Storable],
    role: Annotated[Role, Form()],
    display_name: Annotated[str, Form(max_length=255), Storable] = "",
) -> Response:
    return _act(
        request,
        who,
        lambda: create_operator_as(
            request,
            who,
            username=username,
            display_name=display_name,
            role=role.value,
            password=password,
        ),
        "operator-created",
    )


@router.post("/settings/operators/{operator_id}")
def change_operator(
    request: Request,
    who: CanManageOperators,
    operator_id: Id,
    action: Annotated[str, Form(pattern=r"^(role|disable|enable)$")],
    role: Annotated[Role | None, Form()] = None,
) -> Response:
    """Change an operator's role, or disable or enable them."""
    if action == "role" and role is None:
        raise Invalid("choose the new role")
    return _act(
        request,
        who,
        lambda: update_operator_as(
            request,
            who,
            operator_id,
            role=role.value if action == "role" and role else None,
            disabled={"disable": True, "enable": False}.get(action),
        ),
        "operator-changed",
    )


@router.post("/settings/operators/{operator_id}/password")
def reset_password(
    request: Request,
    who: CanManageOperators,
    operator_id: Id,
    password: Annotated[str, Form(max_length=1024), Storable],
) -> Response:
    return _act(
        request,
        who,
        lambda: update_operator_as(request, who, operator_id, password=password),
        "operator-password",
    )


# --- API tokens --------------------------------------------------------------------------


@router.post("/settings/tokens")
def add_token(
    request: Request,
    who: CanManageTokens,
    name: Annotated[str, Form(max_length=100), Storable],
    role: Annotated[Role, Form()],
) -> Response:
    """Make a token and show its secret, on this answer only (never stored, never cached)."""
    try:
        view, secret = create_token_as(request, who, name=name, role=role.value)
    except WebError as exc:
        return _settings_page(request, who, error=exc.message, status=exc.status)
    except ShequnError as exc:
        return _settings_page(request, who, error=str(exc), status=409)
    return render(
        request,
        "settings/token_created.html.j2",
        {"token": view, "secret": secret, "active": "settings"},
        page=page_context(request, who),
        status=201,
        headers={"Cache-Control": "no-store"},
    )


@router.post("/settings/tokens/{token_id}/revoke")
def revoke_token(request: Request, who: CanManageTokens, token_id: Id) -> Response:
    return _act(request, who, lambda: revoke_token_as(request, who, token_id), "token-revoked")


# --- the community -----------------------------------------------------------------------


@router.post("/settings/community")
def change_community(
    request: Request,
    who: CanManageSettings,
    community_id: Annotated[int, Form(ge=1, le=MAX_ID)],
    name: Annotated[str, Form(max_length=200), Storable],
    timezone: Annotated[str, Form(max_length=64), Storable],
) -> Response:
    return _act(
        request,
        who,
        lambda: change_community_as(
            request, who, community_id, name=name, timezone=timezone.strip()
        ),
        "community",
    )


@router.post("/settings/community/recount")
def recount_community(
    request: Request,
    who: CanManageSettings,
    community_id: Annotated[int, Form(ge=1, le=MAX_ID)],
) -> Response:
    return _act(request, who, lambda: recount_as(request, who, community_id), "recount")
