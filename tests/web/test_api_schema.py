"""schemathesis against the OpenAPI document, signed in as an owner: whatever it
generates, no route answers 5xx and every response matches its declared schema.

Each API operation runs on a private copy of the simulated community (SQLite and
PostgreSQL), so generated deletes and updates cannot leak between operations.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance
from sqlalchemy import text

from shequn.app import App
from shequn.config import Settings
from shequn.features.operators import service as accounts
from shequn.features.operators.permissions import Role
from shequn.kit.clock import FrozenClock
from shequn.web.app import API_PREFIX, create_app
from webharness import NOW


@pytest.fixture
def owner_api(web_db: str, tmp_path: Path) -> Iterator[tuple[object, str]]:
    """The web app over a private database, and an owner's API token for it."""
    app = App.create(Settings(database_url=web_db), clock=FrozenClock(NOW))
    with app.engine.begin() as conn:
        owner, workspace = conn.execute(
            text("select id, workspace_id from operator where username = 'owner'")
        ).one()
        principal = accounts.Principal(
            owner, workspace, "owner", "owner", Role.OWNER.value, None, "session"
        )
        _, secret = accounts.create_token(
            conn, principal, "schemathesis", Role.OWNER.value, now=NOW
        )
    try:
        yield create_app(app, uploads=tmp_path / "uploads"), secret
    finally:
        app.close()


def _schema_source() -> object:
    """An app only for reading the OpenAPI document (it never touches its database)."""
    return create_app(App.create(Settings(database_url="sqlite://")))


schema = schemathesis.openapi.from_asgi(f"{API_PREFIX}/openapi.json", _schema_source())


@schema.parametrize()
@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_conforms_to_its_schema(case, owner_api) -> None:  # type: ignore[no-untyped-def]
    asgi, secret = owner_api
    case.call_and_validate(
        app=asgi,
        headers={"Authorization": f"Bearer {secret}"},
        # A cursor is opaque: any string fits its schema, but only the ones the server
        # gave out decode, and the rest are rightly refused with 422.
        excluded_checks=[positive_data_acceptance],
    )
