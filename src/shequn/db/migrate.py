"""Alembic, driven from code so the CLI, the demo and the tests share one path.

The migration scripts live in the package (``shequn/db/migrations``), so an
installed shequn can migrate without an ``alembic.ini`` in the working directory.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from shequn.kit.errors import MigrationError

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    command.downgrade(alembic_config(engine), revision)


def head_revision(engine: Engine) -> str | None:
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def require_current(engine: Engine) -> None:
    """Refuse to run against a schema older or newer than this code."""
    have, want = current_revision(engine), head_revision(engine)
    if have != want:
        raise MigrationError(
            f"database schema is at {have or 'nothing'}, this shequn needs {want}: "
            "run `shequn db upgrade`"
        )
