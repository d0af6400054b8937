"""The web app over a simulated community, with one operator of each role, and
helpers to act as any of them (see ``tests/web/conftest.py`` for the fixtures)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import httpx
from sqlalchemy import text

from shequn.app import App
from shequn.config import Settings
from shequn.db.engine import WRITE
from shequn.features.community.setup import CommunityRef
from shequn.features.operators import service as accounts
from shequn.features.operators.permissions import Role
from shequn.kit.clock import FrozenClock
from shequn.simulator import SimConfig, simulate

SIM = SimConfig(groups=5, members=400, days=56, seed=5, end=date(2026, 10, 4))
NOW = datetime(2026, 10, 5, 2, 0, tzinfo=UTC)
PASSWORD = "correct-horse-1"
#: Username of the operator of each role in every test database.
USERS = {role: role.value for role in Role}


def fill(url: str) -> None:
    """Migrate, ingest the simulated community, and create the four operators."""
    app = App.create(Settings(database_url=url), clock=FrozenClock(NOW))
    try:
        app.migrate()
        sim = simulate(SIM)
        ref = app.community(sim.name, timezone=SIM.timezone)
        app.ingestor(ref).ingest_many(sim.events())
        with app.engine.begin() as conn:
            for role, username in USERS.items():
                accounts.create_operator(
                    conn, ref.workspace_id, username, PASSWORD, role=role.value, now=NOW
                )
    finally:
        app.close()


_HIDDEN_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class WebHarness:
    """The App, its web application, and helpers to act as an operator of any role."""

    app: App
    asgi: object
    ref: CommunityRef
    clients: list[httpx.AsyncClient] = field(default_factory=list)

    def client(self) -> httpx.AsyncClient:
        c = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.asgi),  # type: ignore[arg-type]
            base_url="http://testserver",
            follow_redirects=False,
        )
        self.clients.append(c)
        return c

    async def signed_in(self, role: Role | str) -> httpx.AsyncClient:
        """A browser-like client with a session cookie; ``client.csrf`` holds its CSRF token
        (also sent as the X-CSRF-Token header by default, as HTMX does)."""
        c = self.client()
        form = await c.get("/login")
        token = _HIDDEN_CSRF.search(form.text)
        assert token, "the sign-in form carries a CSRF token"
        reply = await c.post(
            "/login",
            data={"username": USERS[Role(role)], "password": PASSWORD, "csrf_token": token[1]},
        )
        assert reply.status_code == 303, reply.text
        page = await c.get("/docs")  # any page; the CSRF token lives in the layout
        csrf = self.csrf_of(c)
        c.headers["X-CSRF-Token"] = csrf
        c.csrf = csrf  # type: ignore[attr-defined]
        del page
        return c

    def csrf_of(self, c: httpx.AsyncClient) -> str:
        cookie = c.cookies.get("shequn_session")
        with self.app.engine.connect() as conn:
            principal = accounts.session_principal(conn, cookie or "", now=self.app.clock.now())
        assert principal is not None and principal.csrf_token
        return principal.csrf_token

    def token(self, role: Role | str) -> str:
        """An API token for a role, made the way an owner would make it."""
        with self.app.engine.connect() as conn, conn.execution_options(**WRITE).begin():
            owner = conn.execute(
                text("select id from operator where username = :u"), {"u": USERS[Role.OWNER]}
            ).scalar_one()
            principal = accounts.Principal(
                owner, self.ref.workspace_id, "owner", "owner", Role.OWNER.value, None, "session"
            )
            _, secret = accounts.create_token(
                conn, principal, f"test {role}", Role(role).value, now=self.app.clock.now()
            )
        return secret

    def api(self, role: Role | str) -> httpx.AsyncClient:
        c = self.client()
        c.headers["Authorization"] = f"Bearer {self.token(role)}"
        return c


#: Names and messages a hostile member might choose: markup, script, event handlers,
#: ``javascript:`` links, SQL, bidi overrides, and a 10,000-character string.
HOSTILE_TEXTS = [
    "<script>window.__pwned='script'</script>",
    "<img src=x onerror=\"window.__pwned='img'\">",
    "javascript:window.__pwned='link'",
    "'; DROP TABLE member; -- \" OR 1=1",
    "\u202eevil.exe\u202c <b>bold</b>",
    "</textarea></script><svg onload=\"window.__pwned='svg'\">",
    "长" * 10_000,
]
HOSTILE_GROUP = "<script>window.__pwned='group'</script>群\u202e"


def plant_hostile(app: App, ref: CommunityRef) -> None:
    """A group with a hostile name whose members carry hostile names and say hostile things."""
    from datetime import timedelta

    from shequn.core import Event, EventType, Message

    events = []
    at = NOW - timedelta(days=3)
    for n, text_ in enumerate(HOSTILE_TEXTS):
        common = {
            "platform": "sim",
            "source": "hostile",
            "occurred_at": at + timedelta(minutes=n),
            "group": "hostile",
            "group_name": HOSTILE_GROUP,
            "actor": f"h{n}",
            "actor_name": text_,
        }
        events.append(Event(type=EventType.JOIN, source_id=f"j{n}", **common))
        events.append(
            Event(
                type=EventType.MESSAGE,
                source_id=f"m{n}",
                message=Message.of(text_),
                **{**common, "occurred_at": common["occurred_at"] + timedelta(seconds=30)},
            )
        )
    app.ingestor(ref).ingest_many(events)
