"""``/docs``: the API's OpenAPI document in Swagger UI, served from vendored files so it
works offline and under the same Content-Security-Policy as every page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from shequn.web.auth import Public
from shequn.web.rendering import render

router = APIRouter(include_in_schema=False)


@router.get("/docs")
def docs(request: Request, _: Public) -> Response:
    return render(request, "docs.html.j2", {"openapi_url": request.app.openapi_url})
