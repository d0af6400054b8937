"""What every request handler receives: the App and the dashboard's own parts."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from fastapi import Request
from jinja2 import Environment
from sqlalchemy import Connection

from shequn.app import App
from shequn.db.engine import WRITE
from shequn.runtime.bot import BotRuntime


@dataclass
class Web:
    app: App
    templates: Environment
    uploads: Path
    #: Serve cookies with ``Secure`` even when the request looks like plain HTTP
    #: (behind a proxy that terminates TLS without forwarding the scheme).
    force_secure_cookies: bool = False
    #: The bot runtime running in this process, if any (the playground needs its
    #: simulated platform; other processes' adapters show through ``adapter_status``).
    runtime: BotRuntime | None = None

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection for a page or a GET. It commits at the end because reading may
        keep derived counts (``features.analytics.distinct``); for a pure read the
        commit is free."""
        with self.app.engine.connect() as conn:
            yield conn
            if conn.in_transaction():
                conn.commit()

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One transaction that commits when the block ends without an error."""
        with self.app.engine.connect() as conn:
            conn.execution_options(**WRITE)
            with conn.begin():
                yield conn


def web_of(request: Request) -> Web:
    return request.app.state.web
