"""``/join/{slug}``: the rotating invite's public page (群活码).

Anyone may open it, signed in or not: it is the link printed on a poster or shared by a
partner. Each visit is recorded with its ``?src=`` label and sent to the first group of
the pool with room; the page shows that group's join link and instructions, or says that
every group is full for now. The answer is never cached: each visit is its own, with its
own token in the join link.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from shequn.features.templates.invites import InviteNotFound, record_visit
from shequn.features.templates.visits import InviteError
from shequn.web.auth import Public
from shequn.web.context import web_of
from shequn.web.rendering import render

router = APIRouter(include_in_schema=False)
Slug = Annotated[str, Path(max_length=64)]
#: Longer labels are refused with a clear message by ``clean_source``; this only keeps
#: absurd query strings from being read at all.
Source = Annotated[str | None, Query(alias="src", max_length=1000)]
_NO_STORE = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}


@router.get("/join/{slug}")
def join_page(request: Request, slug: Slug, _: Public, src: Source = None) -> Response:
    web = web_of(request)
    try:
        with web.write() as conn:
            landing = record_visit(conn, slug, src, now=web.app.clock.now())
    except InviteNotFound:
        return render(request, "join/unavailable.html.j2", {}, status=404, headers=_NO_STORE)
    except InviteError as exc:
        return render(
            request, "join/invalid.html.j2", {"detail": str(exc)}, status=400, headers=_NO_STORE
        )
    page = "join/group.html.j2" if landing.place is not None else "join/full.html.j2"
    return render(request, page, {"landing": landing}, headers=_NO_STORE)
