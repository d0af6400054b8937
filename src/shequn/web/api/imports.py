"""``/api/v1/imports``: upload a chat export and follow its import.

Also what the dashboard's import page shares with the API: receiving an upload
as a stream straight into the uploads folder (never whole in memory, refused
as soon as it passes the size limit), starting its job, and the process's job
runner, which imports through the same function as ``shequn import``.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi import Path as PathParam
from pydantic import BaseModel
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from shequn.adapters.importers.common import ImportStats
from shequn.app import App
from shequn.core import Event
from shequn.features.analytics.rollup.rebuild import rebuild
from shequn.features.audit.service import record
from shequn.features.community.setup import communities_of, pick_community
from shequn.features.imports import service as jobs
from shequn.features.imports.logic import (
    KINDS,
    MAP_PATTERN,
    MAPPABLE,
    RECOUNT,
    clean_group,
    display_name,
    parse_mapping,
    relabel,
)
from shequn.features.imports.runner import JobFailed, JobRunner, Reporter
from shequn.features.imports.service import JobView
from shequn.features.operators.service import Principal
from shequn.kit.errors import ShequnError
from shequn.models import ImportStatus
from shequn.runtime import importing as importer
from shequn.web.auth import CanImport, CanView, actor_of
from shequn.web.context import web_of
from shequn.web.errors import ERROR_RESPONSES, ErrorBody, Invalid, NotFound, WebError
from shequn.web.paging import DEFAULT_LIMIT, MAX_LIMIT, Page, decode_cursor, encode_cursor

log = logging.getLogger(__name__)
MAX_ID = 2**31 - 1
#: Bytes read from an upload at a time.
CHUNK = 1024 * 1024
#: The form fields besides the file: small, and few.
MAX_FIELD_BYTES = 64 * 1024
MAX_FIELDS = 16
FILE_FIELD = "file"
#: Room for the multipart framing around the file when judging Content-Length.
FRAMING = 64 * 1024


class TooLarge(WebError):
    status, code = 413, "too_large"


# --- the job runner of this web process ------------------------------------------------

_RUNNER_LOCK = threading.Lock()


def jobs_of(web_app: FastAPI) -> JobRunner:
    """The web process's job runner, made on first use; making it gives up on the jobs
    that dead processes left unfinished (so a restart reports them as interrupted)."""
    runner = getattr(web_app.state, "jobs", None)
    if runner is not None:
        return runner
    with _RUNNER_LOCK:
        runner = getattr(web_app.state, "jobs", None)
        if runner is None:
            app = web_app.state.web.app
            runner = JobRunner(app.engine, app.clock, partial(execute, app))
            runner.recover()
            web_app.state.jobs = runner
    return runner


@asynccontextmanager
async def _lifespan(web_app: FastAPI) -> AsyncIterator[None]:
    """At start, look for jobs a dead process left; at shutdown, stop after the batch
    under way."""
    try:
        await run_in_threadpool(jobs_of, web_app)
    except SQLAlchemyError:
        log.warning("could not check for interrupted imports", exc_info=True)
    yield
    runner = getattr(web_app.state, "jobs", None)
    if runner is not None:
        await run_in_threadpool(runner.stop)


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


# --- receiving an upload ---------------------------------------------------------------


@dataclass
class Upload:
    """A received multipart upload: its text fields and its one file, stored under a
    generated name (the sent filename is data, never part of a path)."""

    fields: dict[str, str] = field(default_factory=dict)
    filename: str | None = None
    path: Path | None = None
    size: int = 0

    def discard(self) -> None:
        if self.path is not None:
            self.path.unlink(missing_ok=True)


def _too_large(limit: int) -> TooLarge:
    return TooLarge(f"the file is larger than the limit of {limit // (1024 * 1024):,} MB")


def _new_file(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder / f"{uuid.uuid4().hex}.upload"


class _Parts:
    """python-multipart callbacks that keep the fields and queue the file's bytes."""

    def __init__(self, upload: Upload, folder: Path, limit: int) -> None:
        self.upload, self.folder, self.limit = upload, folder, limit
        self.pending: list[bytes] = []
        self.file: Any = None
        self._header, self._value, self._disposition = b"", b"", b""
        self._name = ""
        self._data = bytearray()
        self._is_file = False

    def callbacks(self) -> dict[str, Any]:
        return {
            "on_part_begin": self.part_begin,
            "on_header_field": self.header_field,
            "on_header_value": self.header_value,
            "on_header_end": self.header_end,
            "on_headers_finished": self.headers_finished,
            "on_part_data": self.part_data,
            "on_part_end": self.part_end,
        }

    def part_begin(self) -> None:
        self._disposition, self._data, self._is_file = b"", bytearray(), False

    def header_field(self, data: bytes, start: int, end: int) -> None:
        self._header += data[start:end]

    def header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def header_end(self) -> None:
        if self._header.strip().lower() == b"content-disposition":
            self._disposition = self._value
        self._header, self._value = b"", b""

    def headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        if b"name" not in options:
            raise Invalid("a form part has no name")
        self._name = options[b"name"].decode("utf-8", "replace")
        if b"filename" in options:
            if self._name != FILE_FIELD or self.upload.path is not None:
                raise Invalid(f"send one file, in the field {FILE_FIELD!r}")
            self.upload.filename = options[b"filename"].decode("utf-8", "replace")
            self.upload.path = _new_file(self.folder)
            self.file = self.upload.path.open("xb")
            self._is_file = True
        elif len(self.upload.fields) >= MAX_FIELDS:
            raise Invalid("too many form fields")

    def part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self._is_file:
            self.upload.size += len(chunk)
            if self.upload.size > self.limit:
                raise _too_large(self.limit)
            self.pending.append(bytes(chunk))
        else:
            if len(self._data) + len(chunk) > MAX_FIELD_BYTES:
                raise Invalid(f"the form field {self._name[:40]!r} is too long")
            self._data.extend(chunk)

    def part_end(self) -> None:
        if not self._is_file:
            self.upload.fields[self._name] = self._data.decode("utf-8", "replace")


async def _stream_into(request: Request, upload: Upload, folder: Path, limit: int) -> bool:
    """Parse the body as it arrives; False when it was read already (by the CSRF check
    of a plain HTML form), so the parsed form must be used instead."""
    _, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if not boundary:
        raise Invalid("the body must be multipart/form-data with a boundary")
    parts = _Parts(upload, folder, limit)
    parser = MultipartParser(boundary, parts.callbacks())
    stream = request.stream()
    try:
        first = await stream.__anext__()
    except RuntimeError:  # the stream was consumed: the form is parsed and cached
        return False
    except StopAsyncIteration:
        first = b""
    try:
        chunk: bytes | None = first
        while chunk is not None:
            if chunk:
                parser.write(chunk)
                if parts.pending:
                    data, parts.pending = b"".join(parts.pending), []
                    await run_in_threadpool(parts.file.write, data)
            chunk = await anext(stream, None)
        parser.finalize()
    except FormParserError as exc:
        raise Invalid("the multipart body is malformed") from exc
    finally:
        if parts.file is not None:
            parts.file.close()
    return True


async def _copy_parsed(request: Request, upload: Upload, folder: Path, limit: int) -> None:
    form = await request.form()
    for key, value in form.multi_items():
        if isinstance(value, str):
            upload.fields[key] = value
        elif key == FILE_FIELD and upload.path is None:
            await _copy_file(value, upload, folder, limit)
        else:
            raise Invalid(f"send one file, in the field {FILE_FIELD!r}")


async def _copy_file(source: UploadFile, upload: Upload, folder: Path, limit: int) -> None:
    upload.filename = source.filename
    upload.path = _new_file(folder)
    with upload.path.open("xb") as out:
        while chunk := await source.read(CHUNK):
            upload.size += len(chunk)
            if upload.size > limit:
                raise _too_large(limit)
            await run_in_threadpool(out.write, chunk)


async def receive_upload(request: Request) -> Upload:
    """The request's multipart body: fields in memory, the file streamed to disk."""
    web = web_of(request)
    limit = web.app.settings.max_upload_mb * 1024 * 1024
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + FRAMING:
        raise _too_large(limit)
    content_type, _ = parse_options_header(request.headers.get("content-type", ""))
    if content_type != b"multipart/form-data":
        raise Invalid("upload the file as multipart/form-data")
    upload = Upload()
    try:
        if not await _stream_into(request, upload, web.uploads, limit):
            await _copy_parsed(request, upload, web.uploads, limit)
    except BaseException:
        upload.discard()
        raise
    if upload.path is None:
        raise Invalid(f"no file: send the export in the field {FILE_FIELD!r}")
    return upload


# --- starting a job ----------------------------------------------------------------------


#: The upper bounds the API document gives the text fields.
FIELD_LIMITS = {"group": 200, "map": 2000}


def _options(kind: str, fields: dict[str, str]) -> dict[str, Any]:
    if kind not in KINDS:
        raise Invalid(f"kind must be one of {', '.join(KINDS)}")
    for name, limit in FIELD_LIMITS.items():
        if len(fields.get(name, "")) > limit:
            raise Invalid(f"{name} is longer than {limit} characters")
    try:
        mapping = parse_mapping(fields.get("map"))
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    # Other formats have fixed columns: a map given with them has nothing to rename.
    return {"group": clean_group(fields.get("group")), "map": mapping if kind in MAPPABLE else {}}


def _community_id(text: str | None) -> int | None:
    text = (text or "").strip()
    if not text:
        return None
    if not text.isdigit() or not 0 < int(text) <= MAX_ID:
        raise Invalid("community_id must be a community's id")
    return int(text)


def _create(request: Request, who: Principal, upload: Upload) -> JobView:
    kind = upload.fields.get("kind", "").strip()
    options = _options(kind, upload.fields)
    wanted = _community_id(upload.fields.get("community_id"))
    web = web_of(request)
    runner = jobs_of(request.app)
    now = web.app.clock.now()
    with web.write() as conn:
        choices = communities_of(conn, who.workspace_id)
        if wanted is not None and wanted not in {c.community_id for c in choices}:
            raise NotFound(f"community {wanted} does not exist")
        community = pick_community(choices, wanted or who.community_id)
        if community is None:
            raise Invalid("this workspace has no community yet")
        assert upload.path is not None
        job = jobs.create_job(
            conn,
            workspace_id=who.workspace_id,
            community_id=community.community_id,
            operator_id=who.operator_id,
            kind=kind,
            filename=display_name(upload.filename),
            path=str(upload.path),
            size_bytes=upload.size,
            options=options,
            runner=runner.id,
            now=now,
        )
        record(
            conn,
            actor_of(request, who),
            "import.start",
            "import_job",
            job.id,
            after={
                "kind": kind,
                "filename": job.filename,
                "community_id": community.community_id,
                "size_bytes": upload.size,
                "options": options,
            },
            now=now,
        )
    runner.submit(job.id)
    return job


async def start_import(request: Request, who: Principal) -> JobView:
    """Receive the upload and queue its import; the file is removed if it is refused."""
    upload = await receive_upload(request)
    try:
        return await run_in_threadpool(_create, request, who, upload)
    except BaseException:
        upload.discard()
        raise


def find_job(request: Request, who: Principal, job_id: int) -> JobView:
    jobs_of(request.app)
    with web_of(request).read() as conn:
        job = jobs.get_job(conn, who.workspace_id, job_id)
    if job is None or job.kind == RECOUNT:
        raise NotFound(f"import {job_id} does not exist")
    return job


def page_of_jobs(
    request: Request, who: Principal, cursor: str | None, limit: int
) -> tuple[list[JobView], str | None]:
    key = decode_cursor(cursor, 1)
    before = _cursor_id(key)
    jobs_of(request.app)
    with web_of(request).read() as conn:
        found, more = jobs.list_jobs(conn, who.workspace_id, before_id=before, limit=limit)
    return found, (encode_cursor([more]) if more is not None else None)


def _cursor_id(key: list[Any] | None) -> int | None:
    if key is None:
        return None
    value = key[0]
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= MAX_ID:
        raise Invalid("the cursor is not one this server gave out")
    return value


# --- the API -----------------------------------------------------------------------------


class ImportOptions(BaseModel):
    group: str | None
    map: dict[str, str]


class ImportJobOut(BaseModel):
    id: int
    community_id: int
    community_name: str
    kind: str
    filename: str
    status: ImportStatus
    size_bytes: int
    bytes_read: int
    events: int
    messages: int
    duplicates: int
    unsupported: int
    error: str | None
    options: ImportOptions
    operator: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


def job_out(job: JobView) -> ImportJobOut:
    options = job.options
    mapping = options.get("map")
    return ImportJobOut(
        id=job.id,
        community_id=job.community_id,
        community_name=job.community_name,
        kind=job.kind,
        filename=job.filename,
        status=ImportStatus(job.status),
        size_bytes=job.size_bytes,
        bytes_read=job.bytes_read,
        events=job.events,
        messages=job.count("messages"),
        duplicates=job.count("duplicates"),
        unsupported=job.count("unsupported"),
        error=job.error,
        options=ImportOptions(
            group=options.get("group") if isinstance(options.get("group"), str) else None,
            map={str(k): str(v) for k, v in mapping.items()} if isinstance(mapping, dict) else {},
        ),
        operator=job.operator_name,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
    )


router = APIRouter(tags=["imports"], responses=ERROR_RESPONSES, lifespan=_lifespan)

_UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["kind", FILE_FIELD],
                    "properties": {
                        "kind": {"type": "string", "enum": list(KINDS)},
                        "community_id": {
                            "type": "integer",
                            "minimum": 1,
                            "description": "Target community (default: the first one).",
                        },
                        "group": {
                            "type": "string",
                            "maxLength": FIELD_LIMITS["group"],
                            "description": "Name the imported group(s) this instead.",
                        },
                        "map": {
                            "type": "string",
                            "maxLength": FIELD_LIMITS["map"],
                            "pattern": MAP_PATTERN,
                            "description": "JSON Lines and CSV (ignored for the others): "
                            "FIELD=COLUMN pairs, comma-separated (e.g. time=created_at,user=uid).",
                        },
                        FILE_FIELD: {"type": "string", "format": "binary"},
                    },
                }
            }
        },
    }
}


@router.get("/imports", response_model=Page[ImportJobOut], summary="Recent imports, newest first")
def list_imports(
    request: Request,
    who: CanView,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Page[ImportJobOut]:
    found, next_cursor = page_of_jobs(request, who, cursor, limit)
    return Page[ImportJobOut](items=[job_out(j) for j in found], next_cursor=next_cursor)


@router.post(
    "/imports",
    response_model=ImportJobOut,
    status_code=201,
    summary="Upload an export and queue its import",
    openapi_extra=_UPLOAD_BODY,
    responses={413: {"model": ErrorBody, "description": "The file is over the size limit"}},
)
async def upload_import(request: Request, who: CanImport) -> ImportJobOut:
    job = await start_import(request, who)
    return job_out(job)


@router.get("/imports/{job_id}", response_model=ImportJobOut, summary="One import and its progress")
def get_import(
    request: Request, who: CanView, job_id: Annotated[int, PathParam(ge=1, le=MAX_ID)]
) -> ImportJobOut:
    return job_out(find_job(request, who, job_id))
