"""``shequn serve``: the dashboard and the REST API, over uvicorn."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
import uvicorn
from sqlalchemy.engine import make_url

from shequn.app import App
from shequn.cli.common import console, open_app
from shequn.config import Settings

UPLOADS = "shequn-uploads"


def uploads_dir(settings: Settings) -> Path:
    """Where uploads wait for their import: the setting, else next to the SQLite file,
    else in the working directory."""
    if settings.uploads_dir is not None:
        return settings.uploads_dir
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database).resolve().parent / UPLOADS
    return Path.cwd() / UPLOADS


def address(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


def run_server(
    app: App,
    host: str,
    port: int,
    *,
    after: str = "",
    adapters: list[dict[str, Any]] | None = None,
) -> None:
    """Serve ``app`` until interrupted, with the bot runtime over the configured adapters
    (or ``adapters``) unless ``run_bots`` is off; the schema must be current
    (``shequn db upgrade``)."""
    from shequn.web.app import create_app

    app.check_schema()
    tables = app.settings.adapters if adapters is None else adapters
    runtime = app.bot_runtime(tables) if tables and app.settings.run_bots else None
    web = create_app(app, uploads=uploads_dir(app.settings), runtime=runtime)
    console.print(f"shequn dashboard: {address(host, port)}", markup=False, highlight=False)
    if runtime is not None:
        names = ", ".join(f"{e.name} ({e.adapter.platform})" for e in runtime.entries)
        console.print(f"bots: {names}", markup=False, highlight=False)
    if after:
        console.print(after, markup=False, highlight=False)
    uvicorn.run(web, host=host, port=port, log_level="info", proxy_headers=True)


HOST = typer.Option("127.0.0.1", help="Address to listen on (0.0.0.0 for every interface).")
PORT = typer.Option(8000, min=1, max=65535, help="Port to listen on.")


def serve(host: str = HOST, port: int = PORT) -> None:
    """Run the dashboard and the REST API (the API's documentation is at /docs)."""
    with open_app() as app:
        run_server(app, host, port)
