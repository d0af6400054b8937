"""``shequn report``: which groups are healthy, which are declining, and why."""

from __future__ import annotations

import dataclasses
import io
from datetime import datetime
from enum import StrEnum
from pathlib import Path

import orjson
import typer
from rich.console import Console
from sqlalchemy import select

from shequn.cli.common import console, open_app
from shequn.features.analytics.health.logic import Thresholds
from shequn.features.analytics.render import render_html, render_text
from shequn.features.analytics.report import ReportOptions, build_report, default_scope
from shequn.features.analytics.rollup.rebuild import needs_rebuild
from shequn.kit.errors import ConfigError, ShequnError
from shequn.models import Community


class Format(StrEnum):
    HTML = "html"
    TEXT = "text"
    JSON = "json"


class ReportError(ShequnError):
    """A report that cannot be made as asked (the message says why)."""


def thresholds(values: dict[str, float]) -> Thresholds:
    """The configured thresholds over the defaults; an unknown name is a config error."""
    known = {f.name for f in dataclasses.fields(Thresholds)} - {"penalties"}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(
            f"unknown health setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    defaults = Thresholds()
    typed = {k: type(getattr(defaults, k))(v) for k, v in values.items()}
    return dataclasses.replace(defaults, **typed)


def report(
    format: Format = typer.Option(Format.TEXT, "--format", "-f", help="html, text or json."),  # noqa: A002
    out: Path = typer.Option(None, "--out", "-o", help="Write to this file (default: stdout)."),
    community: str = typer.Option(None, help="Community (default: the only one there is)."),
    group: list[str] = typer.Option([], help="Only this group (name or id); repeatable."),
    from_: datetime = typer.Option(None, "--from", formats=["%Y-%m-%d"], help="First day."),
    to: datetime = typer.Option(None, "--to", formats=["%Y-%m-%d"], help="Last day."),
    lang: str = typer.Option(None, help="zh-CN or en (default: the configured locale)."),
    silent_days: int = typer.Option(
        30, min=1, help="Days without a message that make a member silent."
    ),
    answer_minutes: int = typer.Option(
        30, min=1, help="A question counts as answered in time within this many minutes."
    ),
) -> None:
    """Community health: figures per group, and each declining group's reasons."""
    with open_app() as app:
        app.check_schema()
        with app.engine.connect() as conn:
            rows = conn.execute(select(Community.id, Community.name, Community.timezone)).all()
            if community is not None:
                rows = [r for r in rows if r.name == community]
            if not rows:
                raise ReportError(
                    f"no community named {community!r}"
                    if community
                    else "no community yet: "
                    "import an export (`shequn import …`) or run `shequn demo` first"
                )
            if len(rows) > 1:
                names = ", ".join(r.name for r in rows)
                raise ReportError(f"several communities ({names}): choose one with --community")
            cid, name, timezone = rows[0]
            if needs_rebuild(conn, cid):
                raise ReportError(
                    f"community {name!r} has events but no activity rollups (stored before "
                    "they existed): run `shequn db rebuild-rollups` once"
                )
            try:
                options = ReportOptions(
                    lang=lang or app.settings.locale,
                    groups=tuple(group),
                    silent_days=silent_days,
                    answer_minutes=answer_minutes,
                    thresholds=thresholds(app.settings.health),
                )
                scope = default_scope(
                    conn,
                    cid,
                    timezone,
                    now=app.clock.now(),
                    start=from_.date() if from_ else None,
                    end=to.date() if to else None,
                )
                data = build_report(
                    conn, scope, community_name=name, generated_at=app.clock.now(), options=options
                )
            except ValueError as exc:
                raise ReportError(str(exc)) from None
        _write(data, format, out)


def _write(data: dict, format: Format, out: Path | None) -> None:  # noqa: A002
    if format is Format.TEXT and out is None:
        render_text(data, console)
        return
    if format is Format.JSON:
        body = orjson.dumps(data, option=orjson.OPT_INDENT_2).decode()
    elif format is Format.HTML:
        body = render_html(data)
    else:
        recorder = Console(record=True, width=120, file=io.StringIO())
        render_text(data, recorder)
        body = recorder.export_text()
    if out is None:
        print(body)
        return
    try:
        out.write_text(body, encoding="utf-8")
    except OSError as exc:
        raise ReportError(f"{out}: {exc.strerror or exc}") from None
    console.print(f"report written to {out}", markup=False, highlight=False)
