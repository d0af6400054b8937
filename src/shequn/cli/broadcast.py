"""``shequn broadcast``: send one post to many groups from the shell, and list the jobs.

``send`` stores the text as a post and a job in one transaction — sent now, or at
``--at`` (a moment, or a schedule such as ``"weekdays 08:30"``) — and prints the job's id
and its plan per group. Whatever the service refuses (a schedule it cannot read, a time
in the past, a target matching no group, a text too long for a platform, WeCom's daily
limit) is printed as it says it, and the command exits with status 2, nothing stored.
"""

from __future__ import annotations

from datetime import datetime

import typer
from rich.table import Table
from rich.text import Text
from sqlalchemy import Connection, select

from shequn.cli.common import console, err_console, open_app
from shequn.features.broadcast import service
from shequn.features.broadcast.localtime import as_zone
from shequn.features.broadcast.problems import BroadcastError
from shequn.features.broadcast.targets import resolve_targets
from shequn.kit.errors import ShequnError
from shequn.models import Community

app = typer.Typer(help="Send a post to many groups, now or on a schedule.", no_args_is_help=True)
_c = Community.__table__
#: The exit status of input the service refuses (bad usage, as Typer's own errors).
REFUSED = 2


class BroadcastCliError(ShequnError):
    """A broadcast command that cannot be carried out (the message says why)."""


def _community(conn: Connection, name: str | None) -> tuple[int, str]:
    rows = conn.execute(select(_c.c.id, _c.c.name, _c.c.timezone).order_by(_c.c.id)).all()
    if name is not None:
        rows = [r for r in rows if r.name == name]
        if not rows:
            raise BroadcastCliError(f"no community named {name!r}")
    if not rows:
        raise BroadcastCliError("no community yet: set one up first")
    if len(rows) > 1:
        names = ", ".join(r.name for r in rows)
        raise BroadcastCliError(f"several communities ({names}): choose one with --community")
    return rows[0].id, rows[0].timezone


def _local(moment: datetime | None, zone: str) -> str:
    if moment is None:
        return "–"
    return moment.astimezone(as_zone(zone)).strftime("%Y-%m-%d %H:%M")


def _refuse(exc: BroadcastError, lang: str) -> typer.Exit:
    for line in exc.lines(lang) or [str(exc)]:
        err_console.print(Text.assemble(("error: ", "red"), line), soft_wrap=True)
    return typer.Exit(REFUSED)


@app.command()
def send(
    to: str = typer.Option(..., "--to", help="all, tag:NAME, group:ID (several: a,b)."),
    text: str = typer.Option(..., "--text", help="The post; may use {group}, {date}…"),
    at: str = typer.Option(None, "--at", help="When: a moment or a schedule (default: now)."),
    community: str = typer.Option(None, help="Community (default: the only one there is)."),
    title: str = typer.Option("", help="The post's title in the library (default: first line)."),
    lang: str = typer.Option("en", help="The language of messages: en or zh-CN."),
) -> None:
    """Send TEXT to the groups --to names, now or --at a time or on a schedule."""
    with open_app() as shequn:
        now = shequn.clock.now()
        try:
            with shequn.engine.begin() as conn:
                cid, zone = _community(conn, community)
                post_id = service.save_post(
                    conn, cid, {"text": text, "title": title}, operator_id=None, now=now
                )
                job_id = service.schedule_post(
                    conn,
                    cid,
                    post_id,
                    targets=to,
                    when=at,
                    pacing=None,
                    operator_id=None,
                    now=now,
                )
        except BroadcastError as exc:
            raise _refuse(exc, lang) from None
        with shequn.engine.connect() as conn:
            job = service.get_job(conn, cid, job_id)
            report = service.delivery_report(conn, cid, job_id, lang=lang)
            groups = resolve_targets(job.targets, service.group_infos(conn, cid)).groups
    console.print(
        f"job {job_id}: {job.when}, next run {_local(job.next_run, zone)}",
        markup=False,
        highlight=False,
    )
    table = Table("group", "platform", "sends at", "status", "reason")
    if report.deliveries:
        for d in report.deliveries:
            table.add_row(
                d.name, d.platform, _local(d.send_at, zone), d.status.value, d.reason or ""
            )
    else:
        for g in groups:
            table.add_row(g.name or g.id, g.platform, _local(job.next_run, zone), "scheduled", "")
    console.print(table)


@app.command("list")
def list_jobs(
    community: str = typer.Option(None, help="Community (default: the only one there is)."),
    status: str = typer.Option(None, help="Only jobs in this state (active, done…)."),
    limit: int = typer.Option(50, min=1, max=1000),
) -> None:
    """The jobs, newest first, with their state, next run and copies by status."""
    with open_app() as shequn, shequn.engine.connect() as conn:
        cid, zone = _community(conn, community)
        jobs = service.job_rows(conn, cid, status=status, limit=limit)
    table = Table("job", "post", "targets", "when", "status", "next run", "copies")
    for j in jobs:
        copies = ", ".join(f"{k} {n}" for k, n in sorted(j.counts.items())) or "–"
        table.add_row(
            str(j.id),
            Text(j.title),
            Text(j.targets),
            Text(j.when),
            j.status,
            _local(j.next_run, zone),
            copies,
        )
    console.print(table)
