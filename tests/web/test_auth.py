"""Signing in and out, sessions, CSRF, rate limiting and API tokens."""

from __future__ import annotations

import re

import pytest

from shequn.features.operators.permissions import Role
from webharness import PASSWORD, WebHarness

pytestmark = pytest.mark.anyio


def _login_token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found
    return found[1]


async def test_sign_in_sets_a_hardened_session_cookie(web: WebHarness) -> None:
    c = web.client()
    form = await c.get("/login")
    assert form.status_code == 200
    reply = await c.post(
        "/login",
        data={
            "username": "owner",
            "password": PASSWORD,
            "csrf_token": _login_token(form.text),
            "next": "/members",
        },
    )
    assert reply.status_code == 303
    assert reply.headers["location"] == "/members"
    cookie = next(h for h in reply.headers.get_list("set-cookie") if "shequn_session=" in h)
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "samesite=lax" in cookie.lower()
    assert "Secure" not in cookie  # plain HTTP in tests; HTTPS gets Secure


async def test_cookie_is_secure_over_https(web: WebHarness) -> None:
    c = web.client()
    c.base_url = "https://testserver"
    form = await c.get("/login")
    reply = await c.post(
        "/login",
        data={"username": "owner", "password": PASSWORD, "csrf_token": _login_token(form.text)},
    )
    cookie = next(h for h in reply.headers.get_list("set-cookie") if "shequn_session=" in h)
    assert "Secure" in cookie


async def test_sign_in_refuses_an_offsite_next(web: WebHarness) -> None:
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        c = web.client()
        form = await c.get("/login")
        reply = await c.post(
            "/login",
            data={
                "username": "viewer",
                "password": PASSWORD,
                "csrf_token": _login_token(form.text),
                "next": target,
            },
        )
        assert reply.headers["location"] == "/"


async def test_sign_in_without_the_form_token_is_refused(web: WebHarness) -> None:
    c = web.client()
    await c.get("/login")
    reply = await c.post("/login", data={"username": "owner", "password": PASSWORD})
    assert reply.status_code == 403
    assert "shequn_session" not in c.cookies


async def test_wrong_password_then_rate_limit(web: WebHarness) -> None:
    c = web.client()
    for _ in range(5):
        form = await c.get("/login")
        reply = await c.post(
            "/login",
            data={"username": "admin", "password": "nope", "csrf_token": _login_token(form.text)},
        )
        assert reply.status_code == 400
    form = await c.get("/login")
    reply = await c.post(
        "/login",
        data={"username": "admin", "password": PASSWORD, "csrf_token": _login_token(form.text)},
    )
    assert reply.status_code == 429, "the right password is refused while locked out"


async def test_state_changes_need_the_csrf_token(web: WebHarness) -> None:
    c = await web.signed_in(Role.VIEWER)
    del c.headers["X-CSRF-Token"]
    refused = await c.post("/me/language", data={"locale": "en"})
    assert refused.status_code == 403
    accepted = await c.post("/me/language", data={"locale": "en", "csrf_token": c.csrf})
    assert accepted.status_code == 303


async def test_sign_out_ends_the_session(web: WebHarness) -> None:
    c = await web.signed_in(Role.OPERATOR)
    cookie = c.cookies.get("shequn_session")
    reply = await c.post("/logout")
    assert reply.status_code == 303
    again = web.client()
    again.cookies.set("shequn_session", cookie)
    dead = await again.post("/logout", headers={"X-CSRF-Token": c.csrf})
    assert dead.status_code == 303 and dead.headers["location"].startswith("/login?next=")
    assert (await again.get("/api/v1/me")).status_code == 401


async def test_api_tokens_act_with_their_role_and_die_when_revoked(web: WebHarness) -> None:
    c = web.api(Role.VIEWER)
    me = await c.get("/api/v1/me")
    assert me.status_code == 200
    assert me.json()["role"] == "viewer" and me.json()["via"] == "token"
    bogus = web.client()
    bogus.headers["Authorization"] = "Bearer sq_not-a-real-token"
    reply = await bogus.get("/api/v1/me")
    assert reply.status_code == 401
    assert reply.json()["error"]["code"] == "not_signed_in"


async def test_every_response_carries_the_security_headers(web: WebHarness) -> None:
    c = web.client()
    reply = await c.get("/login")
    csp = reply.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert reply.headers["x-content-type-options"] == "nosniff"
    assert reply.headers["x-frame-options"] == "DENY"
