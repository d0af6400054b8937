"""Fixtures for the web tests: a private copy of the simulated community on SQLite and
PostgreSQL for every test, and a ``WebHarness`` over it.

The community is ingested once per test session and backend into a template
(a SQLite file, a PostgreSQL template database); every test gets its own copy,
so tests may change anything.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from servers import IN_CI, pg_admin_url, pg_unavailable_reason
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
    reason = pg_unavailable_reason()
    if reason:
        if IN_CI:
            pytest.fail(f"CI=true but {reason}")
        pytest.skip(reason)
    admin = create_engine(pg_admin_url(), isolation_level="AUTOCOMMIT")
    name = f"shequn_webtpl_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    fill(make_url(pg_admin_url()).set(database=name).render_as_string(hide_password=False))
    try:
        yield name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def web_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A private copy of the simulated community's database."""
    if request.param == "sqlite":
        path = tmp_path / "web.db"
        shutil.copy(request.getfixturevalue("web_sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    template = request.getfixturevalue("web_pg_template")
    admin = create_engine(pg_admin_url(), isolation_level="AUTOCOMMIT")
    name = f"shequn_web_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    try:
        yield make_url(pg_admin_url()).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


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
