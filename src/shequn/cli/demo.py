"""``shequn demo``: a living community on SQLite in one command."""

from __future__ import annotations

import time
from typing import Any

import typer
from rich.table import Table
from sqlalchemy import exists, select

from shequn.app import App
from shequn.cli.common import console, open_app
from shequn.cli.serve import HOST, PORT, run_server
from shequn.cli.simulate import run_simulation, today_in
from shequn.features.analytics.rollup.rebuild import needs_rebuild, rebuild
from shequn.features.audit.service import Actor, record
from shequn.features.community.summary import GroupSummary, group_summaries
from shequn.features.operators import service as accounts
from shequn.models import Community, EventRow, Group
from shequn.simulator import SimConfig

#: The demo's own sign-in, made only when a database has no operator at all.
DEMO_USER = DEMO_PASSWORD = "demo"


def _summary_table(title: str, rows: list[GroupSummary]) -> Table:
    table = Table(title=title, title_justify="left")
    for name, justify in [
        ("group", "left"),
        ("platform", "left"),
        ("members", "right"),
        ("messages", "right"),
        ("speakers", "right"),
        ("joins", "right"),
        ("leaves", "right"),
    ]:
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for r in rows:
        table.add_row(
            r.name,
            r.platform,
            f"{r.members:,}",
            f"{r.messages:,}",
            f"{r.speakers:,}",
            f"{r.joins:,}",
            f"{r.leaves:,}",
        )
    if rows:
        table.add_section()
        table.add_row(
            "all groups",
            "",
            *(f"{sum(getattr(r, f) for r in rows):,}" for f in ("members", "messages")),
            "",
            *(f"{sum(getattr(r, f) for r in rows):,}" for f in ("joins", "leaves")),
        )
    return table


def ensure_demo_operator(app: App) -> bool:
    """Make the owner ``demo`` (password ``demo``) when no operator exists yet; True if made.

    Only the demo does this, so a real installation never gets a known password.
    """
    now = app.clock.now()
    with app.engine.begin() as conn:
        if accounts.count_operators(conn):
            return False
        workspace = accounts.ensure_workspace(conn, now=now)
        made = accounts.create_operator(
            conn, workspace, DEMO_USER, DEMO_PASSWORD, role="owner", now=now, check=False
        )
        record(
            conn,
            Actor(workspace, None, "demo"),
            "operator.create",
            "operator",
            made.id,
            after={"username": made.username, "role": made.role},
            now=now,
        )
    return True


def demo_adapters(app: App) -> list[dict[str, Any]]:
    """The configured adapters, plus a bot on the simulated platform for every community
    with simulated groups that has none yet: the playground's bot."""
    tables = list(app.settings.adapters)
    served = {(t.get("kind"), t.get("community")) for t in tables}
    with app.engine.connect() as conn:
        names = conn.execute(
            select(Community.name)
            .where(exists().where(Group.community_id == Community.id, Group.platform == "sim"))
            .order_by(Community.id)
        ).scalars()
        for name in names:
            if ("sim", name) not in served:
                tables.append({"kind": "sim", "name": f"sim-{len(tables) + 1}", "community": name})
    return tables


def _login_hint(app: App) -> str:
    with app.engine.connect() as conn:
        demo_user = accounts.find_operator(conn, DEMO_USER)
    if demo_user is not None and not demo_user[1].disabled:
        return f"sign in as {DEMO_USER} / {DEMO_PASSWORD}"
    return "sign in with your operator account (shequn user create USERNAME makes one)"


def demo(
    groups: int = typer.Option(20, min=1, help="Groups to simulate when the database is empty."),
    members: int = typer.Option(5000, min=1, help="People to simulate."),
    days: int = typer.Option(90, min=1, help="Days of history to simulate."),
    seed: int = typer.Option(7, help="Random seed."),
    host: str = HOST,
    port: int = PORT,
    serve: bool = typer.Option(True, "--serve/--no-serve", help="Serve the dashboard after."),
) -> None:
    """Simulate a community into an empty database, show it, and serve the dashboard.

    A database without operators gets the owner demo (password demo) to sign in with.
    """
    started = time.perf_counter()
    with open_app() as app:
        app.migrate()
        with app.engine.connect() as conn:
            empty = not conn.execute(select(exists().where(EventRow.id.is_not(None)))).scalar()
        if empty:
            tz = app.settings.timezone
            config = SimConfig(
                groups=groups, members=members, days=days, seed=seed, end=today_in(tz), timezone=tz
            )
            run_simulation(app, config)
        with app.engine.connect() as conn:
            communities = conn.execute(select(Community.id, Community.name)).all()
            stale = [cid for cid, _ in communities if needs_rebuild(conn, cid)]
        for cid in stale:  # a database from before the activity rollups
            with console.status("counting the stored history into the activity rollups…"):
                rebuild(app.engine, cid)
        with app.engine.connect() as conn:
            for cid, name in communities:
                console.print(_summary_table(name, group_summaries(conn, cid)))
        if ensure_demo_operator(app):
            console.print(
                f"made the operator {DEMO_USER} (password {DEMO_PASSWORD}) for the dashboard",
                markup=False,
                highlight=False,
            )
        console.print(
            f"database: {app.settings.database_url}  ready in {time.perf_counter() - started:.1f} s"
        )
        console.print(
            "health report: shequn report  (or --format html --out report.html)",
            markup=False,
            highlight=False,
        )
        if serve:
            run_server(app, host, port, after=_login_hint(app), adapters=demo_adapters(app))
