"""What an import job does once a runner has claimed it: recount a community's
rollups, or import an uploaded export through ``runtime.importing`` exactly as
``shequn import`` would, reporting progress after every batch."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from shequn.adapters.importers.common import ImportStats
from shequn.app import App
from shequn.core import Event
from shequn.features.analytics.rollup.rebuild import rebuild
from shequn.features.community.setup import communities_of
from shequn.features.imports.logic import RECOUNT, relabel
from shequn.features.imports.runner import JobFailed, Reporter
from shequn.features.imports.service import JobView
from shequn.kit.errors import ShequnError
from shequn.runtime import importing as importer


def execute(app: App, job: JobView, reporter: Reporter) -> dict[str, Any]:
    """What the runner does for a job: recount a community, or import an upload."""
    if job.kind == RECOUNT:
        replayed = rebuild(app.engine, job.community_id, on_chunk=lambda _n: reporter.check())
        return {"events": replayed}
    return _import(app, job, reporter)


def _counts(progress: importer.ImportProgress) -> dict[str, int]:
    return {
        "messages": progress.stats.messages,
        "stored": progress.total.stored,
        "duplicates": progress.total.duplicates,
        "unsupported": progress.stats.unsupported,
    }


def _import(app: App, job: JobView, reporter: Reporter) -> dict[str, Any]:
    with app.engine.connect() as conn:
        ref = next(
            (
                c
                for c in communities_of(conn, job.workspace_id)
                if c.community_id == job.community_id
            ),
            None,
        )
    if ref is None:
        raise JobFailed("the community was deleted before the import started")
    path = Path(job.path)
    read = importer.reader_for(job.kind, ref.timezone, job.options.get("map") or {})
    # The generic importers name their events' source after the file; use the name
    # the operator knows, as `shequn import` of that file would.
    generated, wanted = f"import:{path.name}", f"import:{job.filename}"

    def reader(p: Path, stats: ImportStats) -> Iterator[Event]:
        for event in read(p, stats):
            yield event.with_(source=wanted) if event.source == generated else event

    def on_batch(progress: importer.ImportProgress) -> None:
        reporter.progress(
            bytes_read=progress.stats.bytes_read,
            events=progress.total.stored,
            counts=_counts(progress),
        )

    def shown(message: str) -> str:
        return relabel(relabel(message, str(path), job.filename), path.name, job.filename)

    try:
        done = importer.import_export(
            app.ingestor(ref), path, reader, group=job.options.get("group"), on_batch=on_batch
        )
    except importer.ImportError_ as exc:
        raise JobFailed(shown(exc.cause)) from None
    except ShequnError as exc:
        raise JobFailed(shown(str(exc))) from None
    return _counts(done) | {"events": done.total.stored, "bytes_read": job.size_bytes}
