"""Fixtures shared by the whole suite: an App on SQLite and on PostgreSQL.

PostgreSQL is used when ``SHEQUN_TEST_POSTGRES_URL`` is set or a server answers
at 127.0.0.1:5432 (user postgres, database test). Each test session gets its
own freshly migrated database, and every test starts from empty tables. With
``CI=true`` an unreachable server fails the run instead of skipping.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from factories import START
from servers import pg_database, require_pg, truncate_all
from shequn.app import App
from shequn.config import Settings
from shequn.kit.clock import FrozenClock


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A freshly migrated PostgreSQL database of this test session's own."""
    require_pg()
    with pg_database("shequn_test") as (_, url):
        app = App.create(Settings(database_url=url))
        app.migrate()
        app.close()
        yield url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (faster than migrating each time)."""
    path = tmp_path_factory.mktemp("tpl") / "template.db"
    app = App.create(Settings(database_url=f"sqlite:///{path}"))
    app.migrate()
    app.close()
    return path


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database on each backend."""
    if request.param == "sqlite":
        path = tmp_path / "shequn.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("pg_url")
    truncate_all(url)
    return url


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def app(db_url: str, clock: FrozenClock) -> Iterator[App]:
    application = App.create(Settings(database_url=db_url), clock=clock)
    try:
        yield application
    finally:
        application.close()
