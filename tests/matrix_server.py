"""A throwaway Synapse homeserver for tests that need a real Matrix server.

``Homeserver.start(folder)`` writes a config into ``folder`` (SQLite, loopback
only, no federation, every rate limit lifted, cheap password hashing), starts
``python -m synapse.app.homeserver`` as a subprocess and waits until the client
API answers; ``stop()`` ends it. ``register`` creates accounts through the
shared-secret admin API, so no open registration is needed.

``start_or_skip(folder)`` is what a fixture calls: when Synapse is missing or
cannot start here the test is skipped with the reason, or fails under
``CI=true`` (the same rule as for PostgreSQL in ``servers.py``).

This module is importable as ``synapse`` from the tests (``tests`` is on
``sys.path``), which hides the real ``synapse`` package inside the test process;
the homeserver only ever runs in its own subprocess, so nothing here needs it.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib.metadata
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

SERVER_NAME = "shequn.test"
START_TIMEOUT_S = 60.0
_LOG_FORMAT = "%(asctime)s %(name)s %(levelname)s %(message)s"
IN_CI = os.environ.get("CI", "").lower() == "true"

#: Every rate limit Synapse applies to local users, lifted so a test never waits on one.
_LIFTED = {"per_second": 1000, "burst_count": 1000}
_RATE_LIMITS: dict[str, Any] = {
    "rc_message": _LIFTED,
    "rc_registration": _LIFTED,
    "rc_registration_token_validity": _LIFTED,
    "rc_login": {"address": _LIFTED, "account": _LIFTED, "failed_attempts": _LIFTED},
    "rc_joins": {"local": _LIFTED, "remote": _LIFTED},
    "rc_joins_per_room": _LIFTED,
    "rc_invites": {"per_room": _LIFTED, "per_user": _LIFTED, "per_issuer": _LIFTED},
    "rc_third_party_invite": _LIFTED,
    "rc_admin_redaction": _LIFTED,
    "rc_room_creation": _LIFTED,
    "rc_3pid_validation": _LIFTED,
    "rc_media_create": _LIFTED,
    "rc_presence": {"per_user": _LIFTED},
    "rc_delayed_event_mgmt": _LIFTED,
    "rc_reports": _LIFTED,
    "rc_user_directory": _LIFTED,
    "rc_profile": _LIFTED,
    "rc_key_requests": _LIFTED,
}


def free_port() -> int:
    """A loopback port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def synapse_unavailable_reason() -> str | None:
    """Why Synapse cannot run with this interpreter, or None when it looks like it can.

    The check reads the installed distribution instead of importing it: inside the
    test process this very module is ``synapse`` on ``sys.path``, and importing the
    real package would cost a second and a half besides."""
    try:
        dist = importlib.metadata.distribution("matrix-synapse")
    except importlib.metadata.PackageNotFoundError:
        return "matrix-synapse is not installed"
    if not Path(str(dist.locate_file("synapse/app/homeserver.py"))).exists():
        return "matrix-synapse is installed without synapse/app/homeserver.py"
    try:
        importlib.metadata.distribution("signedjson")
    except importlib.metadata.PackageNotFoundError:
        return "signedjson (a Synapse dependency) is not installed"
    return None


def _unavailable(reason: str) -> None:
    import pytest

    if IN_CI:
        pytest.fail(f"CI=true but {reason}")
    pytest.skip(reason)


def require_synapse() -> None:
    """Skip without Synapse, or fail under ``CI=true``."""
    reason = synapse_unavailable_reason()
    if reason:
        _unavailable(reason)


def start_or_skip(folder: Path) -> Homeserver:
    """A running homeserver in ``folder``; when Synapse is missing or cannot start
    here, the test is skipped with the reason (failed under ``CI=true``)."""
    require_synapse()
    for attempt in (1, 2):
        try:
            return Homeserver.start(folder / f"try{attempt}")
        except SynapseFailed as exc:
            if not exc.exited:
                raise  # it runs here but does not answer: a failure, not a missing tool
            if "Address already in use" in str(exc) and attempt == 1:
                continue  # another process took the free port first
            _unavailable(str(exc))
            raise
    raise AssertionError("unreachable")


class SynapseFailed(RuntimeError):
    """Synapse exited (``exited``) or did not answer in time; the message holds its
    log tail."""

    def __init__(self, message: str, *, exited: bool) -> None:
        super().__init__(message)
        self.exited = exited


def _write_signing_key(path: Path) -> None:
    from signedjson.key import generate_signing_key, write_signing_keys

    with path.open("w") as stream:
        write_signing_keys(stream, [generate_signing_key("a_" + secrets.token_hex(2))])


def write_config(folder: Path, port: int, shared_secret: str) -> Path:
    """Write a homeserver config (JSON, which is YAML) and its files into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    log_file = folder / "homeserver.log"
    log_config = folder / "log.yaml"
    log_config.write_text(
        json.dumps(
            {
                "version": 1,
                "formatters": {
                    "plain": {"format": "%(asctime)s %(name)s %(levelname)s %(message)s"}
                },
                "handlers": {
                    "file": {
                        "class": "logging.FileHandler",
                        "formatter": "plain",
                        "filename": str(log_file),
                    }
                },
                "root": {"level": "WARNING", "handlers": ["file"]},
                "disable_existing_loggers": False,
            }
        )
    )
    signing_key = folder / "signing.key"
    _write_signing_key(signing_key)
    config: dict[str, Any] = {
        "server_name": SERVER_NAME,
        "public_baseurl": f"http://127.0.0.1:{port}/",
        "pid_file": str(folder / "homeserver.pid"),
        "listeners": [
            {
                "port": port,
                "bind_addresses": ["127.0.0.1"],
                "type": "http",
                "tls": False,
                "x_forwarded": False,
                "resources": [{"names": ["client"], "compress": False}],
            }
        ],
        "database": {"name": "sqlite3", "args": {"database": str(folder / "homeserver.db")}},
        "log_config": str(log_config),
        "media_store_path": str(folder / "media"),
        "signing_key_path": str(signing_key),
        "registration_shared_secret": shared_secret,
        "macaroon_secret_key": secrets.token_urlsafe(32),
        "form_secret": secrets.token_urlsafe(32),
        "report_stats": False,
        "enable_registration": False,
        "trusted_key_servers": [],
        "suppress_key_server_warning": True,
        "federation_domain_whitelist": [],
        "bcrypt_rounds": 4,
        "presence": {"enabled": False},
        "url_preview_enabled": False,
        "enable_metrics": False,
        # Synapse answers a repeated /sync from a cache for two minutes; a test that
        # connects a fresh client must get a fresh answer, not the previous test's.
        "caches": {"sync_response_cache_duration": 0},
        **_RATE_LIMITS,
    }
    path = folder / "homeserver.yaml"
    path.write_text(json.dumps(config, indent=2))
    return path


@dataclass
class Homeserver:
    """A running Synapse: its client API URL and the secret that registers accounts."""

    folder: Path
    base_url: str
    shared_secret: str
    startup_s: float
    process: subprocess.Popen[bytes] = field(repr=False)

    @property
    def log_file(self) -> Path:
        return self.folder / "homeserver.log"

    @classmethod
    def start(cls, folder: Path, *, timeout: float = START_TIMEOUT_S) -> Homeserver:
        """Start Synapse in ``folder`` and return once its client API answers."""
        began = time.monotonic()
        port = free_port()
        secret = secrets.token_urlsafe(24)
        config = write_config(folder, port, secret)
        stderr = (folder / "stderr.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "synapse.app.homeserver", "-c", str(config)],
            cwd=folder,
            stdout=stderr,
            stderr=subprocess.STDOUT,
        )
        stderr.close()
        server = cls(folder, f"http://127.0.0.1:{port}", secret, 0.0, process)
        try:
            server._wait_ready(began + timeout)
        except BaseException:
            server.stop()
            raise
        server.startup_s = time.monotonic() - began
        return server

    def _wait_ready(self, deadline: float) -> None:
        url = f"{self.base_url}/_matrix/client/versions"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SynapseFailed(
                    f"Synapse exited with {self.process.returncode}:\n{self.log_tail()}",
                    exited=True,
                )
            try:
                if httpx.get(url, timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise SynapseFailed(
            f"Synapse did not answer {url} in time:\n{self.log_tail()}", exited=False
        )

    def log_tail(self, lines: int = 40) -> str:
        """The end of the server's output and log: what to show when it misbehaves."""
        parts = []
        for path in (self.folder / "stderr.log", self.log_file):
            if path.exists():
                text = path.read_text(errors="replace").splitlines()[-lines:]
                parts.append(f"--- {path.name}\n" + "\n".join(text))
        return "\n".join(parts)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL if it has not ended within ``timeout`` seconds."""
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def register(self, user: str, password: str, *, admin: bool = False) -> tuple[str, str]:
        return register(self.base_url, self.shared_secret, user, password, admin=admin)


def register(
    base_url: str, secret: str, user: str, password: str, admin: bool = False
) -> tuple[str, str]:
    """Create an account through ``/_synapse/admin/v1/register``; returns its user id
    and an access token."""
    url = f"{base_url}/_synapse/admin/v1/register"
    with httpx.Client(timeout=10.0) as client:
        reply = client.get(url)
        reply.raise_for_status()
        nonce = reply.json()["nonce"]
        mac = hmac.new(secret.encode(), digestmod=hashlib.sha1)
        kind = b"admin" if admin else b"notadmin"
        mac.update(b"\x00".join([nonce.encode(), user.encode(), password.encode(), kind]))
        reply = client.post(
            url,
            json={
                "nonce": nonce,
                "username": user,
                "password": password,
                "admin": admin,
                "mac": mac.hexdigest(),
            },
        )
        if reply.status_code != 200:
            raise RuntimeError(f"registering {user} failed: {reply.status_code} {reply.text}")
        body = reply.json()
        return str(body["user_id"]), str(body["access_token"])
