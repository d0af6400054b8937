"""Fixtures for the web tests: a private copy of the simulated community on SQLite and
PostgreSQL for every test, and a ``WebHarness`` over it.

The community is ingested once per test session and backend into a template
(a SQLite file, a PostgreSQL template database); every test gets its own copy,
so tests may change anything.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from servers import pg_database, require_pg
from shequn.app import App
from shequn.config import Settings
from shequn.features.community.setup import CommunityRef
from shequn.kit.clock import FrozenClock
from shequn.web.app import create_app
from webharness import NOW, WebHarness, fill


@pytest.fixture(scope="session")
def web_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("webtpl") / "web.db"
    fill(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def web_pg_template() -> Iterator[str]:
    require_pg()
    with pg_database("shequn_webtpl") as (name, url):
        fill(url)
        yield name


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def web_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A private copy of the simulated community's database."""
    if request.param == "sqlite":
        path = tmp_path / "web.db"
        shutil.copy(request.getfixturevalue("web_sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    template = request.getfixturevalue("web_pg_template")
    with pg_database("shequn_web", template=template) as (_, url):
        yield url


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def web(web_db: str, tmp_path: Path) -> AsyncIterator[WebHarness]:
    app = App.create(Settings(database_url=web_db), clock=FrozenClock(NOW))
    with app.engine.connect() as conn:
        row = conn.execute(text("select workspace_id, id, name, timezone from community")).one()
    harness = WebHarness(app, create_app(app, uploads=tmp_path / "uploads"), CommunityRef(*row))
    try:
        yield harness
    finally:
        for c in harness.clients:
            await c.aclose()
        app.close()
