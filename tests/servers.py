"""Where the test servers are, and whether they answer."""

from __future__ import annotations

import os

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
