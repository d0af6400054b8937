"""``/api/v1/imports``: upload a chat export and follow its import.

Also what the dashboard's import page shares with the API: starting a job for an
upload (``web.uploads`` receives it) and the web process's job runner, which
runs ``runtime.import_jobs.execute``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi import Path as PathParam
from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

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
)
from shequn.features.imports.runner import JobRunner
from shequn.features.imports.service import JobView
from shequn.features.operators.service import Principal
from shequn.models import ImportStatus
from shequn.runtime.import_jobs import execute
from shequn.web.auth import CanImport, CanView, actor_of
from shequn.web.context import web_of
from shequn.web.errors import ERROR_RESPONSES, ErrorBody, Invalid, NotFound
from shequn.web.paging import DEFAULT_LIMIT, MAX_LIMIT, Page, decode_cursor, encode_cursor
from shequn.web.uploads import FILE_FIELD, Upload, receive_upload

log = logging.getLogger(__name__)
MAX_ID = 2**31 - 1
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
