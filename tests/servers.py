"""Where the test servers are, and whether they answer."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from shequn.config import Settings
from shequn.db.base import Base

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
IN_CI = os.environ.get("CI", "").lower() == "true"


def pg_admin_url() -> str:
    url = os.environ.get("SHEQUN_TEST_POSTGRES_URL", DEFAULT_PG)
    return Settings(database_url=url).database_url


def pg_unavailable_reason() -> str | None:
    url = pg_admin_url()
    try:
        engine = create_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
    except Exception as exc:  # any failure to reach it means: no server here
        return f"PostgreSQL not reachable at {make_url(url).render_as_string()}: {exc}"
    return None


def truncate_all(url: str) -> None:
    engine = create_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


def require_pg() -> None:
    """Skip without a PostgreSQL server, or fail under ``CI=true``."""
    import pytest

    reason = pg_unavailable_reason()
    if reason:
        if IN_CI:
            pytest.fail(f"CI=true but {reason}")
        pytest.skip(reason)


@contextmanager
def pg_database(prefix: str, *, template: str | None = None) -> Iterator[tuple[str, str]]:
    """A new PostgreSQL database (a copy of ``template``, if given), dropped afterwards:
    yields its name and URL."""
    admin = create_engine(pg_admin_url(), isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    copy = f' TEMPLATE "{template}"' if template else ""
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"{copy}'))
    try:
        yield (
            name,
            make_url(pg_admin_url()).set(database=name).render_as_string(hide_password=False),
        )
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
