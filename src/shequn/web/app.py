"""The FastAPI application: the dashboard's pages, the REST API under ``/api/v1``, and
the OpenAPI document at ``/docs``."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DataError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from shequn import __version__
from shequn.app import App
from shequn.kit.errors import ShequnError
from shequn.runtime.bot import BotRuntime
from shequn.web import api, pages
from shequn.web.context import Web
from shequn.web.errors import Conflict, Invalid, NotFound, NotSignedIn, WebError
from shequn.web.rendering import STATIC_PACKAGES, make_environment, page_context, render
from shequn.web.security import SecurityHeaders

API_PREFIX = "/api/v1"


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


async def _respond(request: Request, error: WebError) -> Response:
    if _wants_json(request):
        return JSONResponse(error.body(), status_code=error.status, headers=error.headers)
    if isinstance(error, NotSignedIn):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if request.headers.get("hx-request") == "true":
            return Response(status_code=204, headers={"HX-Redirect": "/login"})
        return RedirectResponse(f"/login?next={_quote(target)}", status_code=303)
    principal = getattr(request.state, "principal", None)
    page = await run_in_threadpool(page_context, request, principal) if principal else None
    return render(
        request,
        "error.html.j2",
        {"status": error.status, "message": error.message, "active": None},
        page=page,
        status=error.status,
        headers=error.headers,
    )


def _quote(path: str) -> str:
    return quote(path, safe="/")


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(WebError)
    async def web_error(request: Request, exc: WebError) -> Response:
        return await _respond(request, exc)

    @app.exception_handler(ShequnError)
    async def known_error(request: Request, exc: ShequnError) -> Response:
        return await _respond(request, Conflict(str(exc)))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        detail = jsonable_encoder(exc.errors(), exclude={"input", "ctx", "url"})
        return await _respond(request, Invalid("the request is malformed", detail=detail))

    @app.exception_handler(DataError)
    async def unstorable(request: Request, exc: DataError) -> Response:
        # PostgreSQL refuses some text SQLite takes (a NUL character, above all); the
        # transaction is rolled back, and the client learns what to fix.
        return await _respond(
            request, Invalid("a value holds a character the database cannot store (NUL?)")
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return await _respond(request, NotFound("no such page"))
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(_allowed(request))
        error = WebError(str(exc.detail), headers=headers)
        error.status, error.code = exc.status_code, f"http_{exc.status_code}"
        return await _respond(request, error)


def _allowed(request: Request) -> list[str]:
    """Every method some route takes on this path (Starlette names only the first route's)."""
    methods: set[str] = set()
    for path, route in routes_of(request.app):
        if compile_path(path)[0].match(request.url.path):
            methods |= route.methods
    return sorted(methods)


@asynccontextmanager
async def _running(runtime: BotRuntime) -> AsyncIterator[None]:
    """Run the bot runtime in the server's event loop for as long as the server runs."""
    task = asyncio.create_task(runtime.run(), name="bot-runtime")
    await runtime.started()
    try:
        yield
    finally:
        runtime.stop()
        await task


def create_app(
    app: App,
    *,
    uploads: Path | None = None,
    secure_cookies: bool = False,
    runtime: BotRuntime | None = None,
) -> FastAPI:
    """The web application over ``app`` (its settings, database and clock), running
    ``runtime`` beside it when given."""
    web = FastAPI(
        lifespan=(lambda _: _running(runtime)) if runtime is not None else None,
        title="shequn",
        version=__version__,
        summary="Community operations: groups, members, tags, events, imports and health.",
        docs_url=None,
        redoc_url=None,
        openapi_url=f"{API_PREFIX}/openapi.json",
    )
    web.state.web = Web(
        app=app,
        templates=make_environment(),
        uploads=uploads or Path(tempfile.gettempdir()) / "shequn-uploads",
        force_secure_cookies=secure_cookies,
        runtime=runtime,
    )
    _install_error_handlers(web)
    included = [(API_PREFIX, r) for r in api.routers()] + [("", r) for r in pages.routers()]
    for prefix, router in included:
        web.include_router(router, prefix=prefix)
    web.state.included = included
    web.mount("/static", StaticFiles(packages=STATIC_PACKAGES), name="static")
    web.add_middleware(SecurityHeaders)
    return web


def routes_of(web: FastAPI) -> list[tuple[str, APIRoute]]:
    """Every API and page route with its full path: what access tests walk."""
    return [
        (prefix + route.path, route)
        for prefix, router in web.state.included
        for route in router.routes
        if isinstance(route, APIRoute)
    ]
