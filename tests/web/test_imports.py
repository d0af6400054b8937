"""Importing an uploaded export from the dashboard and the API: a background job that
stores what ``shequn import`` stores, shows its progress, and fails where the file does."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, text
from typer.testing import CliRunner

from shequn.cli.main import app as cli
from shequn.features.imports.logic import RunnerId
from shequn.features.operators.permissions import Role
from shequn.models import AuditEntry, EventRow, ImportJob
from webharness import WebHarness

pytestmark = pytest.mark.anyio
SAMPLES = Path(__file__).parents[1] / "importers" / "samples"
runner = CliRunner()


async def wait_for(c: httpx.AsyncClient, job_id: int) -> dict:
    """Poll the API until the job ends."""
    for _ in range(400):
        reply = await c.get(f"/api/v1/imports/{job_id}")
        assert reply.status_code == 200, reply.text
        if reply.json()["status"] in ("done", "failed"):
            return reply.json()
        await asyncio.sleep(0.05)
    raise AssertionError(f"import {job_id} did not end")


def event_keys(engine, source_like: str) -> set[tuple]:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        rows = conn.execute(
            select(EventRow.source, EventRow.source_id, EventRow.type, EventRow.occurred_at).where(
                EventRow.source.like(source_like)
            )
        )
        return {tuple(r) for r in rows}


def cli_import(url: str, kind: str, path: Path, community: str, *extra: str) -> str:
    result = runner.invoke(
        cli,
        ["import", kind, str(path), "--community", community, *extra],
        env={"SHEQUN_DATABASE_URL": url},
    )
    assert result.exit_code == 0, result.output
    return result.stdout


async def test_upload_through_the_page_stores_what_the_cli_stores(
    web: WebHarness, tmp_path: Path
) -> None:
    c = await web.signed_in(Role.OPERATOR)
    api = web.api(Role.VIEWER)  # made before the job runs: tokens are written with a plain BEGIN
    page = await c.get("/imports")
    assert page.status_code == 200 and 'enctype="multipart/form-data"' in page.text
    sample = SAMPLES / "wechat_group.csv"
    reply = await c.post(
        "/imports",
        data={"kind": "wechat", "community_id": str(web.ref.community_id)},
        files={"file": ("wechat_group.csv", sample.read_bytes(), "text/csv")},
    )
    assert reply.status_code == 303, reply.text
    job_id = int(reply.headers["location"].rsplit("/", 1)[1])
    job = await wait_for(api, job_id)
    assert job["status"] == "done", job
    assert (job["events"], job["messages"], job["bytes_read"]) == (9, 8, sample.stat().st_size)

    # The same file through `shequn import` into an empty database stores the same events…
    fresh = f"sqlite:///{tmp_path / 'cli.db'}"
    out = cli_import(fresh, "wechat", sample, web.ref.name)
    assert "9 events stored" in out
    from sqlalchemy import create_engine

    engine = create_engine(fresh)
    try:
        assert event_keys(engine, "%wechat%") == event_keys(web.app.engine, "%wechat%")
    finally:
        engine.dispose()
    # …and into the dashboard's database finds every one of them there already.
    again = cli_import(web.app.settings.database_url, "wechat", sample, web.ref.name)
    assert "0 events stored, 9 already present" in again

    shown = await c.get(f"/imports/{job_id}")
    assert shown.status_code == 200
    assert "wechat_group.csv" in shown.text and "<meter" in shown.text
    assert 'hx-trigger="every 1s"' not in shown.text, "a finished job stops polling"
    assert not list((tmp_path / "uploads").iterdir()), "the upload is deleted when the job ends"
    with web.app.engine.connect() as conn:
        entry = conn.execute(
            select(AuditEntry.action, AuditEntry.operator_name, AuditEntry.target_id).where(
                AuditEntry.action == "import.start"
            )
        ).one()
    assert entry == ("import.start", "operator", str(job_id))


async def test_upload_through_the_api_with_a_group_name(web: WebHarness) -> None:
    c = web.api(Role.ADMIN)
    sample = SAMPLES / "telegram_single.json"
    reply = await c.post(
        "/api/v1/imports",
        data={"kind": "telegram", "group": "改名的群"},
        files={"file": ("result.json", sample.read_bytes(), "application/json")},
    )
    assert reply.status_code == 201, reply.text
    created = reply.json()
    assert created["status"] in ("queued", "running", "done")
    assert created["community_id"] == web.ref.community_id
    job = await wait_for(c, created["id"])
    assert job["status"] == "done" and job["events"] > 5
    assert job["options"] == {"group": "改名的群", "map": {}}
    with web.app.engine.connect() as conn:
        names = (
            conn.execute(
                text("select name from chat_group where community_id = :c"),
                {"c": web.ref.community_id},
            )
            .scalars()
            .all()
        )
    assert "改名的群" in names
    listed = (await c.get("/api/v1/imports")).json()
    assert [j["id"] for j in listed["items"]] == [created["id"]]


def _broken_jsonl(good: int) -> bytes:
    lines = [
        f'{{"id": "m{i}", "time": 1767225600, "group": "g1", "group_name": "坏文件群", '
        f'"user": "u{i % 3}", "text": "第{i}条"}}'
        for i in range(1, good + 1)
    ]
    return ("\n".join(lines) + "\n{not json at all\n").encode()


async def test_a_broken_export_fails_where_the_file_is_bad_and_keeps_whole_batches(
    web: WebHarness,
) -> None:
    web.app.settings.ingest_batch_size = 5
    c = web.api(Role.OPERATOR)
    browser = await web.signed_in(Role.VIEWER)
    reply = await c.post(
        "/api/v1/imports",
        data={"kind": "jsonl"},
        files={"file": ("broken.jsonl", _broken_jsonl(12), "application/jsonl")},
    )
    assert reply.status_code == 201, reply.text
    job = await wait_for(c, reply.json()["id"])
    assert job["status"] == "failed"
    assert "broken.jsonl:13" in job["error"] and "not JSON" in job["error"]
    assert ".upload" not in job["error"], "the server's own file name is not shown"
    # Batches of 5: lines 1–10 were committed whole; 11 and 12 shared the bad batch.
    assert job["events"] == 10
    assert len(event_keys(web.app.engine, "import:broken.jsonl")) == 10

    page = await browser.get(f"/imports/{job['id']}")
    assert "broken.jsonl:13" in page.text and 'role="alert"' in page.text


async def test_the_job_page_polls_while_the_job_runs(web: WebHarness) -> None:
    with web.app.engine.begin() as conn:
        job_id = conn.execute(
            ImportJob.__table__.insert()
            .values(
                workspace_id=web.ref.workspace_id,
                community_id=web.ref.community_id,
                kind="qq",
                filename="<script>alert(1)</script>.txt",
                path="",
                status="running",
                size_bytes=1000,
                bytes_read=250,
                events=42,
                summary={
                    "runner": str(RunnerId("elsewhere", 1, "x")),
                    "heartbeat": web.app.clock.now().isoformat(),
                },
                created_at=web.app.clock.now(),
                started_at=web.app.clock.now(),
            )
            .returning(ImportJob.id)
        ).scalar_one()
    c = await web.signed_in(Role.VIEWER)
    part = await c.get(f"/imports/{job_id}/progress", headers={"HX-Request": "true"})
    assert part.status_code == 200
    assert (
        'hx-trigger="every 1s"' in part.text and f'hx-get="/imports/{job_id}/progress"' in part.text
    )
    assert 'value="0.25"' in part.text and "<html" not in part.text
    page = await c.get(f"/imports/{job_id}")
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;.txt" in page.text


async def test_jobs_of_a_dead_process_are_marked_interrupted(web: WebHarness) -> None:
    with web.app.engine.begin() as conn:
        values = {
            "workspace_id": web.ref.workspace_id,
            "community_id": web.ref.community_id,
            "kind": "wechat",
            "filename": "x.csv",
            "path": "",
            "size_bytes": 10,
            "bytes_read": 0,
            "events": 0,
            "created_at": web.app.clock.now(),
        }
        dead, alive = (
            conn.execute(
                ImportJob.__table__.insert().returning(ImportJob.id),
                [
                    values | {"status": "running", "summary": {}},
                    values
                    | {
                        "status": "queued",
                        "summary": {
                            "runner": str(RunnerId("another-host", 7, "abc")),
                            "heartbeat": web.app.clock.now().isoformat(),
                        },
                    },
                ],
            )
            .scalars()
            .all()
        )
    c = web.api(Role.VIEWER)
    gone = (await c.get(f"/api/v1/imports/{dead}")).json()
    assert gone["status"] == "failed" and "interrupted" in gone["error"]
    elsewhere = (await c.get(f"/api/v1/imports/{alive}")).json()
    assert elsewhere["status"] == "queued", "a job of a live process on another host is left alone"


async def test_size_limit_and_bad_requests(web: WebHarness) -> None:
    web.app.settings.max_upload_mb = 1
    c = web.api(Role.OPERATOR)
    big = b"x" * (1024 * 1024 + 10)
    reply = await c.post(
        "/api/v1/imports", data={"kind": "csv"}, files={"file": ("big.csv", big, "text/csv")}
    )
    assert reply.status_code == 413 and reply.json()["error"]["code"] == "too_large"
    for data, files in [
        ({"kind": "excel"}, {"file": ("a.csv", b"x", "text/csv")}),
        ({"kind": "csv"}, None),
        ({"kind": "csv", "map": "time=t,,"}, {"file": ("a.csv", b"x", "text/csv")}),
        ({"kind": "csv", "group": "群" * 201}, {"file": ("a.csv", b"x", "text/csv")}),
    ]:
        reply = await c.post("/api/v1/imports", data=data, files=files)
        assert reply.status_code == 422, (data, reply.text)
    elsewhere = await c.post(
        "/api/v1/imports",
        data={"kind": "csv", "community_id": "999999"},
        files={"file": ("a.csv", b"x", "text/csv")},
    )
    assert elsewhere.status_code == 404
    assert not list((web.asgi.state.web.uploads).glob("*.upload"))
    viewer = web.api(Role.VIEWER)
    refused = await viewer.post(
        "/api/v1/imports", data={"kind": "csv"}, files={"file": ("a.csv", b"x", "text/csv")}
    )
    assert refused.status_code == 403


async def test_the_form_works_with_htmx_and_without_javascript(web: WebHarness) -> None:
    c = await web.signed_in(Role.OPERATOR)
    sample = SAMPLES / "qq_group.txt"
    htmx = await c.post(
        "/imports",
        headers={"HX-Request": "true"},
        data={"kind": "qq"},
        files={"file": ("qq_group.txt", sample.read_bytes(), "text/plain")},
    )
    assert htmx.status_code == 204 and htmx.headers["hx-redirect"].startswith("/imports/")
    refused = await c.post(
        "/imports",
        headers={"HX-Request": "true"},
        data={"kind": "nonsense"},
        files={"file": ("x.txt", b"x", "text/plain")},
    )
    assert refused.status_code == 200 and 'role="alert"' in refused.text
    assert "<html" not in refused.text and "kind must be one of" in refused.text
    # A plain form post: the CSRF token comes as a field, so the form is parsed first.
    del c.headers["X-CSRF-Token"]
    plain = await c.post(
        "/imports",
        data={"kind": "qq", "csrf_token": c.csrf, "group": "纯表单"},
        files={"file": ("qq_group.txt", sample.read_bytes(), "text/plain")},
    )
    assert plain.status_code == 303, plain.text
    forged = await c.post(
        "/imports", data={"kind": "qq"}, files={"file": ("a.txt", b"x", "text/plain")}
    )
    assert forged.status_code == 403
    api = web.api(Role.VIEWER)
    first = await wait_for(api, int(htmx.headers["hx-redirect"].rsplit("/", 1)[1]))
    second = await wait_for(api, int(plain.headers["location"].rsplit("/", 1)[1]))
    assert first["status"] == second["status"] == "done"
    assert first["events"] > 0 and second["events"] == 0 and second["duplicates"] == first["events"]
    assert not list((web.asgi.state.web.uploads).iterdir())


async def test_a_viewer_sees_imports_but_no_upload_form(web: WebHarness) -> None:
    c = await web.signed_in(Role.VIEWER)
    page = await c.get("/imports")
    assert page.status_code == 200 and 'type="file"' not in page.text
    assert (await c.post("/imports", data={"kind": "qq"})).status_code == 403
    assert (await c.get("/imports/987654")).status_code == 404
