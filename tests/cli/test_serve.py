"""``shequn serve``: uvicorn in a real process answers the sign-in page; an old schema is
refused with the command that fixes it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from shequn.cli.main import app
from shequn.cli.serve import address, uploads_dir
from shequn.config import Settings

runner = CliRunner()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_answers_the_sign_in_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'serve.db'}"
    monkeypatch.setenv("SHEQUN_DATABASE_URL", url)
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "shequn", "serve", "--port", str(port)],
        env=os.environ | {"SHEQUN_DATABASE_URL": url},
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        reply = None
        while time.monotonic() < deadline:
            try:
                reply = httpx.get(f"http://127.0.0.1:{port}/login", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert reply is not None, "the server did not answer"
        assert reply.status_code == 200 and 'name="password"' in reply.text
        assert "default-src 'none'" in reply.headers["content-security-policy"]
    finally:
        server.terminate()
        out, _ = server.communicate(timeout=20)
    assert f"http://127.0.0.1:{port}/" in out


def test_serve_refuses_an_old_schema(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHEQUN_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    result = runner.invoke(app, ["serve", "--port", str(free_port())])
    assert result.exit_code == 1
    assert "shequn db upgrade" in result.output and "Traceback" not in result.output


def test_where_uploads_wait(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "data" / "x.db"
    assert uploads_dir(Settings(database_url=f"sqlite:///{db}")) == db.parent / "shequn-uploads"
    pg = Settings(database_url="postgresql://u@h/db")
    assert uploads_dir(pg) == tmp_path / "shequn-uploads"
    chosen = Settings(database_url="postgresql://u@h/db", uploads_dir=tmp_path / "up")
    assert uploads_dir(chosen) == tmp_path / "up"
    assert address("::", 8000) == "http://[::]:8000/"
