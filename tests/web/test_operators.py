"""Operators on the settings page and the API: the rank rules (an admin never touches an
owner), the last active owner, password resets, one's own account, and who is refused."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import select

from shequn.features.operators.permissions import Role
from shequn.models import AuditEntry, Operator
from webharness import PASSWORD, WebHarness

pytestmark = pytest.mark.anyio
NEW_PASSWORD = "battery-staple-9"


async def sign_in(web: WebHarness, username: str, password: str) -> httpx.Response:
    c = web.client()
    form = await c.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token
    return await c.post(
        "/login", data={"username": username, "password": password, "csrf_token": token[1]}
    )


def operator_id(web: WebHarness, username: str) -> int:
    with web.app.engine.connect() as conn:
        return conn.execute(select(Operator.id).where(Operator.username == username)).scalar_one()


def audit_actions(web: WebHarness, target_id: int) -> list[str]:
    with web.app.engine.connect() as conn:
        return list(
            conn.execute(
                select(AuditEntry.action)
                .where(AuditEntry.target_type == "operator", AuditEntry.target_id == str(target_id))
                .order_by(AuditEntry.id)
            ).scalars()
        )


async def test_an_owner_adds_an_operator_who_can_then_sign_in(web: WebHarness) -> None:
    c = await web.signed_in(Role.OWNER)
    reply = await c.post(
        "/settings/operators",
        data={
            "username": "xiaoming",
            "display_name": "<b>小明</b>",
            "role": "operator",
            "password": NEW_PASSWORD,
        },
    )
    assert reply.status_code == 303, reply.text
    page = await c.get(reply.headers["location"])
    assert "&lt;b&gt;小明&lt;/b&gt;" in page.text and "<b>小明</b>" not in page.text
    assert (await sign_in(web, "xiaoming", NEW_PASSWORD)).status_code == 303
    new_id = operator_id(web, "xiaoming")
    assert audit_actions(web, new_id) == ["operator.create"]
    listed = (await web.api(Role.ADMIN).get("/api/v1/operators")).json()
    assert {o["username"]: o["role"] for o in listed["items"]} == {
        "owner": "owner",
        "admin": "admin",
        "operator": "operator",
        "viewer": "viewer",
        "xiaoming": "operator",
    }


async def test_an_admin_never_makes_changes_or_disables_an_owner(web: WebHarness) -> None:
    api = web.api(Role.ADMIN)
    owner = operator_id(web, "owner")
    made = await api.post(
        "/api/v1/operators", json={"username": "boss2", "role": "owner", "password": NEW_PASSWORD}
    )
    assert made.status_code == 409 and made.json()["error"]["code"] == "conflict"
    for change in ({"role": "viewer"}, {"disabled": True}, {"password": NEW_PASSWORD}):
        reply = await api.patch(f"/api/v1/operators/{owner}", json=change)
        assert reply.status_code == 409, change
    promote = await api.patch(
        f"/api/v1/operators/{operator_id(web, 'viewer')}", json={"role": "owner"}
    )
    assert promote.status_code == 409
    browser = await web.signed_in(Role.ADMIN)
    page = await browser.post(
        "/settings/operators",
        data={"username": "boss3", "role": "owner", "password": NEW_PASSWORD},
    )
    assert page.status_code == 409 and 'role="alert"' in page.text
    with web.app.engine.connect() as conn:
        row = conn.execute(select(Operator.role, Operator.disabled).where(Operator.id == owner))
        assert tuple(row.one()) == ("owner", False)
        assert not conn.execute(
            select(Operator.id).where(Operator.username.in_(["boss2", "boss3"]))
        ).first()
    # What an admin may do: make and promote operators up to admin.
    made = await api.post(
        "/api/v1/operators",
        json={"username": "helper", "role": "operator", "password": NEW_PASSWORD},
    )
    assert made.status_code == 201
    raised = await api.patch(f"/api/v1/operators/{made.json()['id']}", json={"role": "admin"})
    assert raised.status_code == 200 and raised.json()["role"] == "admin"


async def test_the_last_active_owner_stays(web: WebHarness) -> None:
    owner = operator_id(web, "owner")
    c = await web.signed_in(Role.OWNER)
    for data in ({"action": "role", "role": "admin"}, {"action": "disable"}):
        reply = await c.post(f"/settings/operators/{owner}", data=data)
        assert reply.status_code == 409, data
        assert "at least one active owner" in reply.text
    api = web.api(Role.OWNER)
    second = await api.post(
        "/api/v1/operators", json={"username": "owner2", "role": "owner", "password": PASSWORD}
    )
    assert second.status_code == 201
    # With a second owner the first may step down; the second is then the last.
    assert (
        await api.patch(f"/api/v1/operators/{owner}", json={"role": "admin"})
    ).status_code == 200
    assert (await sign_in(web, "owner2", PASSWORD)).status_code == 303
    with web.app.engine.connect() as conn:
        owners = conn.execute(select(Operator.username).where(Operator.role == "owner"))
        assert list(owners.scalars()) == ["owner2"]
    assert audit_actions(web, owner) == ["operator.update"]


async def test_a_reset_password_signs_the_operator_out(web: WebHarness) -> None:
    victim = await web.signed_in(Role.OPERATOR)
    assert (await victim.get("/settings")).status_code == 200
    admin = await web.signed_in(Role.ADMIN)
    target = operator_id(web, "operator")
    reply = await admin.post(f"/settings/operators/{target}/password", data={"password": "short"})
    assert reply.status_code == 409 and "at least 8 characters" in reply.text
    reply = await admin.post(
        f"/settings/operators/{target}/password", data={"password": NEW_PASSWORD}
    )
    assert reply.status_code == 303
    assert (await victim.get("/settings")).status_code == 303, "the old session is gone"
    assert (await sign_in(web, "operator", PASSWORD)).status_code == 400
    assert (await sign_in(web, "operator", NEW_PASSWORD)).status_code == 303
    assert audit_actions(web, target) == ["operator.password"]
    disable = await admin.post(f"/settings/operators/{target}", data={"action": "disable"})
    assert disable.status_code == 303
    assert (await sign_in(web, "operator", NEW_PASSWORD)).status_code == 400


async def test_everyone_manages_their_own_account(web: WebHarness) -> None:
    c = await web.signed_in(Role.VIEWER)
    saved = await c.post("/settings/profile", data={"display_name": "小王", "locale": "en"})
    assert saved.status_code == 303
    page = await c.get("/settings")
    assert 'value="小王"' in page.text and "Your profile was saved." not in page.text
    assert (await c.get("/settings?notice=profile")).text.count("Your profile was saved.") == 1
    wrong = await c.post(
        "/settings/password",
        data={
            "current_password": "not-it-at-all",
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
    )
    assert wrong.status_code == 422 and "current password is wrong" in wrong.text
    mismatch = await c.post(
        "/settings/password",
        data={
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD + "x",
        },
    )
    assert mismatch.status_code == 422
    other_browser = await web.signed_in(Role.VIEWER)
    changed = await c.post(
        "/settings/password",
        data={
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
    )
    assert changed.status_code == 303
    assert (await c.get("/settings")).status_code == 200, "this browser stays signed in"
    assert (await other_browser.get("/settings")).status_code == 303, "others are signed out"
    assert (await sign_in(web, "viewer", NEW_PASSWORD)).status_code == 303
    viewer = operator_id(web, "viewer")
    assert audit_actions(web, viewer) == ["operator.update", "operator.password"]


@pytest.mark.parametrize("role", [Role.VIEWER, Role.OPERATOR])
async def test_viewers_and_operators_change_no_one_else(web: WebHarness, role: Role) -> None:
    admin = operator_id(web, "admin")
    browser = await web.signed_in(role)
    api = web.api(role)
    page_posts = [
        ("/settings/operators", {"username": "x1", "role": "viewer", "password": NEW_PASSWORD}),
        (f"/settings/operators/{admin}", {"action": "disable"}),
        (f"/settings/operators/{admin}/password", {"password": NEW_PASSWORD}),
        ("/settings/tokens", {"name": "t", "role": "viewer"}),
        ("/settings/tokens/1/revoke", {}),
        (
            "/settings/community",
            {"community_id": str(web.ref.community_id), "name": "x", "timezone": "UTC"},
        ),
    ]
    for path, data in page_posts:
        assert (await browser.post(path, data=data)).status_code == 403, path
    api_calls = [
        ("POST", "/api/v1/operators", {"username": "x1", "role": "viewer", "password": PASSWORD}),
        ("PATCH", f"/api/v1/operators/{admin}", {"disabled": True}),
        ("GET", "/api/v1/operators", None),
        ("POST", "/api/v1/tokens", {"name": "t", "role": "viewer"}),
        ("DELETE", "/api/v1/tokens/1", None),
        ("PATCH", f"/api/v1/communities/{web.ref.community_id}/settings", {"name": "x"}),
    ]
    for method, path, body in api_calls:
        reply = await api.request(method, path, json=body)
        assert reply.status_code == 403, (method, path)
    with web.app.engine.connect() as conn:
        assert (
            conn.execute(select(Operator.disabled).where(Operator.id == admin)).scalar_one()
            is False
        )
        assert not conn.execute(select(AuditEntry.id)).first()
    settings = await browser.get("/settings")
    assert settings.status_code == 200
    assert 'action="/settings/operators"' not in settings.text
    assert 'action="/settings/tokens"' not in settings.text
    assert 'action="/settings/community"' not in settings.text
