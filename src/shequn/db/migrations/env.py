"""Alembic environment: the engine comes from the caller (see shequn.db.migrate).

On SQLite, batch mode rebuilds a table by copying it and dropping the old one;
with foreign keys enforced, that drop would cascade into every referencing
table. So foreign keys are switched off for the migration (it must happen
outside a transaction), checked once it is done, and switched back on.
"""

from __future__ import annotations

from alembic import context

import shequn.models  # noqa: F401  (registers every table on the metadata)
from shequn.db.base import Base
from shequn.kit.errors import MigrationError

engine = context.config.attributes["engine"]

with engine.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    raw = connection.connection.dbapi_connection
    if sqlite:
        raw.execute("PRAGMA foreign_keys=OFF")
    try:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=sqlite,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
        if sqlite:
            broken = raw.execute("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise MigrationError(f"migration left rows with broken references: {broken[:5]}")
    finally:
        if sqlite:
            raw.execute("PRAGMA foreign_keys=ON")
