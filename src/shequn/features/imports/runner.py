"""Running background jobs on a thread of the web process, one at a time.

One thread per web process takes jobs from a queue in order: an import and a
recount of the same community never write at the same time, and on SQLite the
process never competes with itself for the write lock. The thread starts when a
job arrives and ends when the queue has been empty for a while, so an idle
process holds no thread.

What a job does is the ``Execute`` function the web layer hands in; the runner
moves the job through its states, reports, keeps the job's heartbeat, stops
cooperatively (a job checks in after every batch), deletes the uploaded file
when the job ends, and at start gives up on the jobs of dead processes.
"""

from __future__ import annotations

import logging
import os
import queue
import secrets
import socket
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil
from sqlalchemy import Connection, Engine

from shequn.db.engine import WRITE
from shequn.features.imports import service
from shequn.features.imports.logic import BEAT_EVERY, INTERRUPTED, RunnerId, clip, orphaned
from shequn.features.imports.service import JobView
from shequn.kit.clock import Clock
from shequn.kit.errors import ShequnError

log = logging.getLogger(__name__)


class Interrupted(Exception):
    """Raised inside a job when its runner is stopping; the job fails as interrupted."""


class JobFailed(ShequnError):
    """A job's own, expected failure: its message is shown to the operator as is."""

    def __init__(self, message: str, *, counts: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.counts = counts or {}


class Reporter:
    """What a running job uses to say how far it has got, and to learn it must stop."""

    def __init__(self, runner: JobRunner, job: JobView) -> None:
        self._runner = runner
        self.job = job
        self.summary: dict[str, Any] = dict(job.summary)
        self.bytes_read = 0
        self.events = 0

    def check(self) -> None:
        """Raise Interrupted if the runner is stopping; call between units of work."""
        if self._runner.stopping:
            raise Interrupted

    def progress(self, *, bytes_read: int, events: int, counts: dict[str, Any]) -> None:
        """Record progress after a committed batch, then check whether to stop."""
        self.bytes_read, self.events = bytes_read, events
        self.summary |= counts
        with self._runner.write() as conn:
            service.report(
                conn, self.job.id, bytes_read=bytes_read, events=events, summary=self.summary
            )
        self._runner.beat()
        self.check()


#: Does a job's work; returns counts for its summary, of which ``events`` and
#: ``bytes_read`` (when given) become the job's own columns.
Execute = Callable[[JobView, Reporter], dict[str, Any]]
#: The runners alive in this process, so a restarted process can tell its own
#: live runners from those of a process that had the same id before.
_RUNNERS: weakref.WeakSet[JobRunner] = weakref.WeakSet()
_RUNNERS_LOCK = threading.Lock()


def _pid_alive(pid: int) -> bool:
    try:
        return psutil.pid_exists(pid)
    except (OSError, ValueError):
        return False


class JobRunner:
    """Runs the jobs submitted to it, in order, on one thread of its own."""

    def __init__(
        self, engine: Engine, clock: Clock, execute: Execute, *, idle_seconds: float = 5.0
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.execute = execute
        self.idle_seconds = idle_seconds
        self.id = RunnerId(socket.gethostname(), os.getpid(), secrets.token_hex(6))
        #: Job ids, each with the monotonic time before which it must not start.
        self._queue: queue.Queue[tuple[int, float]] = queue.Queue()
        self._pending: list[int] = []
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._last_beat = clock.now()
        with _RUNNERS_LOCK:
            _RUNNERS.add(self)

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    @contextmanager
    def write(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            conn.execution_options(**WRITE)
            with conn.begin():
                yield conn

    def recover(self) -> list[int]:
        """Fail the unfinished jobs whose runner is gone (a process that died or was
        stopped) and delete their uploads; returns their ids."""
        with _RUNNERS_LOCK:
            live = [r.id for r in _RUNNERS]
        now = self.clock.now()
        given_up = []
        with self.write() as conn:
            for job in service.unfinished_jobs(conn):
                runner = job.runner
                alive = runner is not None and _pid_alive(runner.pid)
                if not orphaned(
                    runner,
                    job.heartbeat,
                    host=self.id.host,
                    pid=self.id.pid,
                    live=live,
                    pid_alive=alive,
                    now=now,
                ):
                    continue
                service.fail(conn, job.id, now=now, error=INTERRUPTED)
                given_up.append(job)
        for job in given_up:
            if job.runner is None or job.runner.host == self.id.host:
                _delete(job.path)
        return [job.id for job in given_up]

    def submit(self, job_id: int, *, delay: float = 0.0) -> None:
        """Queue a job (already stored as queued, owned by this runner), to start no
        sooner than ``delay`` seconds from now: a job that waits stays queued, so
        changes made meanwhile can reuse it instead of queueing another."""
        with self._lock:
            self._pending.append(job_id)
            self._queue.put((job_id, time.monotonic() + delay))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._loop, name=f"shequn-jobs-{self.id.token}", daemon=True
                )
                self._thread.start()

    def busy(self) -> bool:
        """Whether any submitted job has not ended yet."""
        with self._lock:
            return bool(self._pending)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop after the current batch; jobs not finished by then fail as interrupted."""
        self._stopping.set()
        with self._lock:
            thread = self._thread
        if thread is not None:
            thread.join(timeout)
        self._fail_pending()
        with _RUNNERS_LOCK:
            _RUNNERS.discard(self)

    def beat(self) -> None:
        """Re-announce this runner's unfinished jobs, at most every BEAT_EVERY."""
        now = self.clock.now()
        if now - self._last_beat < BEAT_EVERY:
            return
        self._last_beat = now
        with self._lock:
            ids = list(self._pending)
        with self.write() as conn:
            service.beat(conn, ids, self.id, now=now)

    def _loop(self) -> None:
        while True:
            try:
                job_id, not_before = self._queue.get(timeout=self.idle_seconds)
            except queue.Empty:
                with self._lock:
                    if self._queue.empty():
                        self._thread = None
                        return
                continue
            while (wait := not_before - time.monotonic()) > 0 and not self.stopping:
                self._stopping.wait(wait)
            try:
                if self.stopping:
                    self._give_up(job_id)
                else:
                    self._run(job_id)
            except Exception:  # the thread must outlive any one job's trouble
                log.exception("background job %s could not be run", job_id)
            finally:
                with self._lock:
                    if job_id in self._pending:
                        self._pending.remove(job_id)

    def _run(self, job_id: int) -> None:
        with self.write() as conn:
            job = service.claim(conn, job_id, now=self.clock.now())
        if job is None:
            return
        reporter = Reporter(self, job)
        try:
            counts = self.execute(job, reporter)
        except Interrupted:
            self._end(job, reporter, error=INTERRUPTED)
        except JobFailed as exc:
            reporter.summary |= exc.counts
            self._end(job, reporter, error=str(exc))
        except ShequnError as exc:
            self._end(job, reporter, error=str(exc))
        except Exception:
            log.exception("background job %s (%s) failed", job.id, job.kind)
            self._end(job, reporter, error="the job stopped on an unexpected error; see the log")
        else:
            bytes_read = counts.pop("bytes_read", reporter.bytes_read)
            events = counts.pop("events", reporter.events)
            with self.write() as conn:
                service.finish(
                    conn,
                    job.id,
                    now=self.clock.now(),
                    summary=reporter.summary | counts,
                    bytes_read=bytes_read,
                    events=events,
                )
        finally:
            _delete(job.path)

    def _end(self, job: JobView, reporter: Reporter, *, error: str) -> None:
        with self.write() as conn:
            service.fail(
                conn, job.id, now=self.clock.now(), error=clip(error), summary=reporter.summary
            )

    def _give_up(self, job_id: int) -> None:
        with self.write() as conn:
            job = service.job_by_id(conn, job_id)
            service.fail(conn, job_id, now=self.clock.now(), error=INTERRUPTED)
        if job is not None:
            _delete(job.path)

    def _fail_pending(self) -> None:
        while True:
            try:
                job_id, _ = self._queue.get_nowait()
            except queue.Empty:
                return
            try:
                self._give_up(job_id)
            except Exception:
                log.exception("background job %s could not be given up", job_id)


def _delete(path: str) -> None:
    """Remove a job's uploaded file; a job without one (a recount) has an empty path."""
    if path:
        try:
            Path(path).unlink(missing_ok=True)
        except OSError:
            log.warning("could not delete the upload %s", path)
