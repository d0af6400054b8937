"""What every benchmark shares: memory sampling, scratch databases, the closing JSON line."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any, TypeVar

import orjson
import psutil
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from shequn.config import Settings

T = TypeVar("T")
DEFAULT_PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


@dataclass
class RssSampler:
    """Resident memory of this process, sampled when asked (MB)."""

    samples: list[float] = field(default_factory=list)

    def sample(self) -> float:
        mb = psutil.Process().memory_info().rss / 2**20
        self.samples.append(mb)
        return mb

    @property
    def peak(self) -> float:
        return max(self.samples, default=0.0)

    @property
    def growth(self) -> float:
        """Last sample minus the first (taken once the run is warm): near zero when a
        run streams instead of accumulating."""
        return self.samples[-1] - self.samples[0] if len(self.samples) > 1 else 0.0

    @property
    def late_growth(self) -> float:
        """Growth over the second half of the run only: bounded caches (SQLite's page
        cache fills up to its configured size) have settled by then, so anything
        left is memory that grows with the event count."""
        if len(self.samples) < 2:
            return 0.0
        return self.samples[-1] - self.samples[len(self.samples) // 2]


@contextmanager
def scratch_database(kind: str, name: str) -> Iterator[str]:
    """An empty database of the given kind for one run, removed afterwards."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="shequn-bench-") as tmp:
            yield f"sqlite:///{Path(tmp) / (name + '.db')}"
        return
    admin_url = Settings(
        database_url=os.environ.get("SHEQUN_BENCH_POSTGRES_URL", DEFAULT_PG_ADMIN)
    ).database_url
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    db = f"shequn_bench_{name}_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{db}"'))
    try:
        yield make_url(admin_url).set(database=db).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        admin.dispose()


def run_on_database(
    name: str,
    db: str,
    keep: Path | None,
    measure: Callable[[str, bool], dict[str, Any]],
) -> dict[str, Any]:
    """``measure(url, fill)`` on a kept SQLite file (filled only when new) or on a scratch
    database of the given kind, under the bench's name and database."""
    head = {"bench": name, "db": db}
    if keep is not None:
        return head | measure(f"sqlite:///{keep.resolve()}", not keep.exists())
    with scratch_database(db, name) as url:
        return head | measure(url, True)


def json_line(figures: dict[str, Any]) -> str:
    """The closing line of every bench: compact JSON, floats rounded for reading."""
    rounded = {k: round(v, 3) if isinstance(v, float) else v for k, v in figures.items()}
    return orjson.dumps(rounded).decode()
