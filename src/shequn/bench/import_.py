"""``shequn bench import``: a Telegram export through the real import path, against json.load.

A full-account Telegram Desktop export of about ``--size-mb`` MiB is written
from the simulated community (``bench/telegram_export.py``; not timed). Then,
each in a fresh child process:

- the import, exactly as ``shequn import telegram FILE`` runs it: the
  ``telegram_events`` reader fed to an ``App``'s ingestor with the default
  processors and batch size, into a scratch database; only ``ingest_many`` is
  timed (migrating the empty database is not);
- the baseline, ``json.load`` of the same file, which only parses it.

``ratio`` is the import's messages per second over json.load's (the file's
messages over its seconds): below 1, since json.load neither maps nor stores.

Peak RSS is the child's own ``VmHWM`` from ``/proc/self/status``: the kernel's
high-water mark of its resident memory since it was exec'd, so no peak between
two samples is missed. ``ru_maxrss`` is not used on Linux: a child's value
(RUSAGE_SELF or the parent's RUSAGE_CHILDREN) starts from the parent's
high-water mark at fork, which here includes the export's generation. Where
there is no ``/proc`` (macOS), ``ru_maxrss`` is the fallback and the figure is
an upper bound.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from shequn.bench.common import scratch_database
from shequn.bench.telegram_export import Written, write_export

#: Runs ``child`` in a fresh interpreter; arguments follow as ``sys.argv[1:]``.
_CHILD = "import sys; from shequn.bench.import_ import child; child(sys.argv[1:])"


def peak_rss_mb() -> float:
    """This process's peak resident memory (MiB) since it started."""
    try:
        with open("/proc/self/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


def _import(path: Path, url: str) -> dict[str, Any]:
    from shequn.adapters.importers.common import ImportStats
    from shequn.adapters.importers.telegram.importer import telegram_events
    from shequn.app import App
    from shequn.config import Settings

    app = App.create(Settings(database_url=url))
    try:
        app.migrate()
        ingestor = app.ingestor(app.community("imported"))
        stats = ImportStats()
        started = time.perf_counter()
        result = ingestor.ingest_many(telegram_events(path, stats))
        seconds = time.perf_counter() - started
    finally:
        app.close()
    return {"seconds": seconds, "messages": stats.messages, "stored": result.stored}


def _json_load(path: Path) -> dict[str, Any]:
    started = time.perf_counter()
    with path.open(encoding="utf-8") as f:
        export = json.load(f)
    seconds = time.perf_counter() - started
    chats = export["chats"]["list"] + export["left_chats"]["list"]
    return {"seconds": seconds, "messages": sum(len(c["messages"]) for c in chats)}


def child(argv: list[str]) -> None:
    """The child's side: run one measurement and print its figures as one JSON line."""
    kind, path = argv[0], Path(argv[1])
    figures = _import(path, argv[2]) if kind == "import" else _json_load(path)
    figures["peak_rss_mb"] = peak_rss_mb()
    sys.stdout.write(orjson.dumps(figures).decode() + "\n")


def _in_child(*args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, *args], stdout=subprocess.PIPE, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"bench child {args[0]} failed with status {done.returncode}")
    return orjson.loads(done.stdout.strip().splitlines()[-1])


def _check(written: Written, run: dict[str, Any], baseline: dict[str, Any]) -> None:
    """A fast import that reads or stores the wrong thing measures nothing: refuse it."""
    if run["messages"] != written.messages or baseline["messages"] != written.messages:
        raise RuntimeError(
            f"{written.messages} messages written, {run['messages']} imported, "
            f"{baseline['messages']} parsed by json.load"
        )
    if run["stored"] != written.events:
        raise RuntimeError(f"{written.events} events written, {run['stored']} stored")


def bench_import(db: str, size_mb: float, *, seed: int = 11) -> dict[str, Any]:
    """Write the export, import it, json.load it; the figures for the closing line."""
    with tempfile.TemporaryDirectory(prefix="shequn-bench-import-") as tmp:
        path = Path(tmp) / "result.json"
        written = write_export(path, size_mb, seed=seed)
        with scratch_database(db, "import") as url:
            run = _in_child("import", str(path), url)
        baseline = _in_child("json_load", str(path))
    _check(written, run, baseline)
    per_s = written.messages / run["seconds"]
    json_per_s = written.messages / baseline["seconds"]
    return {
        "bench": "import",
        "db": db,
        "file_mb": written.bytes / 2**20,
        "chats": written.chats,
        "messages": written.messages,
        "events": run["stored"],
        "msgs_per_s": round(per_s),
        "seconds": run["seconds"],
        "peak_rss_mb": run["peak_rss_mb"],
        "json_load_msgs_per_s": round(json_per_s),
        "json_load_s": baseline["seconds"],
        "json_load_peak_rss_mb": baseline["peak_rss_mb"],
        "ratio": per_s / json_per_s,
    }
