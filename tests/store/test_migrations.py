"""The schema is built by migrations alone, on both databases, and can be taken down again."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, inspect, select

from factories import event
from shequn.app import App
from shequn.config import Settings
from shequn.db import migrate
from shequn.db.base import Base
from shequn.kit.errors import MigrationError
from shequn.models import EventRow, Membership


def _tables(app: App) -> set[str]:
    return set(inspect(app.engine).get_table_names()) - {"alembic_version"}


def test_migrated_schema_matches_the_models(app: App) -> None:
    with app.engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata
        )
    assert diff == []
    assert _tables(app) == set(Base.metadata.tables)


def test_downgrade_to_empty_and_upgrade_again(app: App) -> None:
    migrate.downgrade(app.engine, "base")
    assert _tables(app) == set()
    assert migrate.current_revision(app.engine) is None
    with pytest.raises(MigrationError, match="shequn db upgrade"):
        app.check_schema()
    migrate.upgrade(app.engine)
    assert _tables(app) == set(Base.metadata.tables)
    app.check_schema()


def test_upgrade_from_an_empty_sqlite_file(tmp_path) -> None:
    app = App.create(Settings(database_url=f"sqlite:///{tmp_path / 'new.db'}"))
    assert migrate.current_revision(app.engine) is None
    app.migrate()
    assert migrate.current_revision(app.engine) == migrate.head_revision(app.engine)
    app.close()


def test_migrating_down_and_up_keeps_the_stored_data(app: App) -> None:
    """Every revision runs on a database holding data (SQLite batch mode rebuilds
    tables, so this is where a migration could lose rows)."""
    ingestor = app.ingestor(app.community("c"))
    stored = ingestor.ingest_many([event(n, actor=f"u{n % 3}") for n in range(50)]).stored

    def counts() -> tuple[int, int]:
        with app.engine.connect() as conn:
            return (
                conn.execute(select(func.count()).select_from(EventRow)).scalar_one(),
                conn.execute(select(func.count()).select_from(Membership)).scalar_one(),
            )

    assert counts() == (stored, 3)
    migrate.downgrade(app.engine, "0001")
    assert counts() == (stored, 3)
    migrate.upgrade(app.engine)
    assert counts() == (stored, 3)
