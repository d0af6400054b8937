"""Signing in and out, and the operator's own choices: language and community."""

from __future__ import annotations

import hmac
import secrets

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from shequn.features.audit.service import record
from shequn.features.community.setup import communities_of
from shequn.features.operators import service as accounts
from shequn.features.operators.service import TooManyAttempts
from shequn.web import i18n
from shequn.web.auth import SESSION_COOKIE, CanView, Public, actor_of, client_address
from shequn.web.context import web_of
from shequn.web.errors import Forbidden, Invalid
from shequn.web.rendering import render

router = APIRouter(include_in_schema=False)
LOGIN_CSRF_COOKIE = "shequn_login_csrf"


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never ``//evil.example`` or ``https://…``."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/"


def _secure(request: Request) -> bool:
    return request.url.scheme == "https" or web_of(request).force_secure_cookies


def _login_form(
    request: Request, *, next_path: str, error: str | None = None, status: int = 200
) -> Response:
    token = secrets.token_urlsafe(32)
    response = render(
        request,
        "login.html.j2",
        {"next": next_path, "error": error, "login_csrf": token},
        status=status,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
        path="/login",
    )
    return response


@router.get("/login")
def login_page(request: Request, _: Public, next: str = "/") -> Response:
    if getattr(request.state, "principal", None):
        return RedirectResponse(_safe_next(next), status_code=303)
    return _login_form(request, next_path=_safe_next(next))


@router.post("/login")
def login(
    request: Request,
    _: Public,
    username: str = Form(..., max_length=64),
    password: str = Form(..., max_length=1024),
    csrf_token: str = Form(""),
    next: str = Form("/"),
) -> Response:
    web = web_of(request)
    target = _safe_next(next)
    if "\x00" in username or "\x00" in password:
        return _login_form(request, next_path=target, error="wrong", status=400)
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(expected, csrf_token):
        return _login_form(request, next_path=target, error="expired", status=403)
    now = web.app.clock.now()
    try:
        with web.write() as conn:
            operator = accounts.authenticate(
                conn, username, password, address=client_address(request), now=now
            )
            if operator is not None:
                token, _csrf = accounts.start_session(conn, operator.id, now=now)
    except TooManyAttempts:
        return _login_form(request, next_path=target, error="too_many", status=429)
    if operator is None:
        return _login_form(request, next_path=target, error="wrong", status=400)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(accounts.SESSION_LIFETIME.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        path="/",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(request: Request, _: CanView) -> Response:
    if cookie := request.cookies.get(SESSION_COOKIE):
        with web_of(request).write() as conn:
            accounts.end_session(conn, cookie)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/me/language")
def set_language(
    request: Request,
    principal: CanView,
    locale: str = Form(...),
    next: str = Form("/"),
) -> Response:
    """Any signed-in operator may choose their own language; it follows them to every browser."""
    chosen = i18n.normalise(locale)
    if chosen is None:
        raise Invalid(f"unknown language {locale!r}")
    web = web_of(request)
    with web.write() as conn:
        before, after = accounts.update_operator(
            conn, principal.workspace_id, principal.operator_id, locale=chosen
        )
        record(
            conn,
            actor_of(request, principal),
            "operator.locale",
            "operator",
            principal.operator_id,
            before={"locale": before.locale},
            after={"locale": after.locale},
            now=web.app.clock.now(),
        )
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/me/community")
def set_community(
    request: Request,
    principal: CanView,
    community_id: int = Form(...),
    next: str = Form("/"),
) -> Response:
    """Which community the dashboard shows; kept on this browser's session."""
    if principal.session_hash is None:
        raise Forbidden("only a signed-in browser has a current community")
    with web_of(request).write() as conn:
        if community_id not in {
            c.community_id for c in communities_of(conn, principal.workspace_id)
        }:
            raise Invalid(f"community {community_id} is not in this workspace")
        accounts.set_session_community(conn, principal.session_hash, community_id)
    return RedirectResponse(_safe_next(next), status_code=303)
