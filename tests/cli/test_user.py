"""``shequn user``: making the first owner from the shell, and letting operators back in."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from shequn.app import App
from shequn.cli.main import app
from shequn.features.operators import service as accounts
from shequn.web.app import create_app

runner = CliRunner()
SECRET = "a-long-secret-1"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'users.db'}"
    monkeypatch.setenv("SHEQUN_DATABASE_URL", url)
    monkeypatch.chdir(tmp_path)
    return url


def user(*args: str, stdin: str | None = None) -> tuple[int, str]:
    result = runner.invoke(app, ["user", *args], input=stdin)
    return result.exit_code, result.output


def can_sign_in(username: str, password: str) -> bool:
    shequn = App.create()
    try:
        with shequn.engine.begin() as conn:
            return (
                accounts.authenticate(conn, username, password, address="t", now=shequn.clock.now())
                is not None
            )
    finally:
        shequn.close()


@pytest.mark.anyio
async def test_create_from_stdin_then_sign_in_to_the_dashboard(env: str, tmp_path: Path) -> None:
    code, out = user(
        "create", "boss", "--display-name", "老板", "--password-stdin", stdin=SECRET + "\n"
    )
    assert code == 0, out
    assert "created owner boss" in out
    shequn = App.create()
    web = create_app(shequn, uploads=tmp_path / "uploads")
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=web), base_url="http://testserver"
        ) as c:
            form = await c.get("/login")
            token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
            assert token
            reply = await c.post(
                "/login", data={"username": "boss", "password": SECRET, "csrf_token": token[1]}
            )
            assert reply.status_code == 303
            me = await c.get("/api/v1/me")
            assert me.json()["display_name"] == "老板" and me.json()["role"] == "owner"
    finally:
        shequn.close()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def test_the_first_operator_must_be_an_owner(env: str) -> None:
    code, out = user("create", "look", "--role", "viewer", "--password-stdin", stdin=SECRET)
    assert code == 1 and "must be an owner" in out
    code, out = user("create", "boss", "--password-stdin", stdin="short\n")
    assert code == 1 and "at least 8 characters" in out and "Traceback" not in out
    code, out = user("create", "boss", "--password-stdin", stdin=SECRET)
    assert code == 0, out
    code, out = user("create", "look", "--role", "viewer", "--password-stdin", stdin=SECRET)
    assert code == 0, out
    code, out = user("create", "look", "--password-stdin", stdin=SECRET)
    assert code == 1 and "taken" in out


def test_a_prompted_password_is_asked_twice(env: str) -> None:
    code, out = user("create", "boss", stdin=f"{SECRET}\n{SECRET}\n")
    assert code == 0, out
    assert SECRET not in out, "the password is not echoed"
    assert can_sign_in("boss", SECRET)


def test_list_password_and_disable(env: str) -> None:
    assert user("create", "boss", "--password-stdin", stdin=SECRET)[0] == 0
    assert user("create", "helper", "--role", "operator", "--password-stdin", stdin=SECRET)[0] == 0
    code, out = user("list")
    assert code == 0 and "boss" in out and "helper" in out and "operator" in out
    code, out = user("password", "helper", "--password-stdin", stdin="another-secret-2\n")
    assert code == 0, out
    assert not can_sign_in("helper", SECRET) and can_sign_in("helper", "another-secret-2")
    code, out = user("disable", "boss")
    assert code == 1 and "at least one active owner" in out
    code, out = user("disable", "helper")
    assert code == 0 and not can_sign_in("helper", "another-secret-2")
    code, out = user("disable", "nobody")
    assert code == 1 and "no operator is called 'nobody'" in out
