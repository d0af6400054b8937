"""Alembic environment: the engine comes from the caller (see shequn.db.migrate)."""

from __future__ import annotations

from alembic import context

import shequn.models  # noqa: F401  (registers every table on the metadata)
from shequn.db.base import Base

engine = context.config.attributes["engine"]

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
