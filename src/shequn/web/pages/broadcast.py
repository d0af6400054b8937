"""``/broadcast``: the content library — posts written once for many groups, filtered by
tag — with the form to write or rewrite one (a text per language, images, links, tags)
and a preview of how each platform will show it, warnings and blockers flagged.

A post the broadcast core refuses shows the form again with every problem and the
operator's input kept, answered 422; nothing is stored. Sending a post is the compose
page's business (``broadcast_jobs``).
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from shequn.features.broadcast import service as broadcast
from shequn.features.broadcast.content import Rendered
from shequn.features.broadcast.post import VARIABLES
from shequn.features.operators.service import Principal
from shequn.web.api.broadcast import MAX_ID, Id, Refused, id_cursor, remove, run_preview, save
from shequn.web.api.operators import Storable
from shequn.web.auth import CanBroadcast, CanView
from shequn.web.context import web_of
from shequn.web.errors import NotFound
from shequn.web.pages.broadcast_forms import blank_post_form, post_data, post_form
from shequn.web.pages.overview import N_
from shequn.web.paging import DEFAULT_LIMIT, encode_cursor
from shequn.web.rendering import PageContext, page_context, render

router = APIRouter(include_in_schema=False)
NOTICES = {
    "created": N_("The post is saved in the library."),
    "saved": N_("The post is saved."),
    "deleted": N_("The post is deleted."),
}
#: How many posts the tag filter reads its tags from.
TAG_SCAN = 200
Field = Annotated[str, Form(max_length=60_000), Storable]
Short = Annotated[str, Form(max_length=1000), Storable]


def community_id(page: PageContext) -> int:
    if page.community is None:
        raise NotFound("no community yet")
    return page.community.community_id


def preview_view(rendered: list[Rendered], lang: str) -> list[dict[str, Any]]:
    """What the preview shows of each platform's rendering, problems in ``lang``."""
    return [
        {
            "platform": r.platform,
            "lang": r.lang,
            "length": r.length,
            "ok": r.ok,
            "blockers": [p.text(lang) for p in r.blockers],
            "warnings": [p.text(lang) for p in r.warnings],
            "text": r.message.plain_text(),
        }
        for r in rendered
    ]


def _library(
    request: Request,
    who: Principal,
    page: PageContext,
    *,
    tag: str | None = None,
    before: int | None = None,
    msg: str | None = None,
    form: dict[str, str] | None = None,
    problems: list[str] | None = None,
    previews: list[dict[str, Any]] | None = None,
    status: int = 200,
) -> Response:
    cid = community_id(page)
    with web_of(request).read() as conn:
        rows = broadcast.post_rows(conn, cid, tag=tag, before_id=before, limit=DEFAULT_LIMIT + 1)
        tags = sorted({t for r in broadcast.post_rows(conn, cid, limit=TAG_SCAN) for t in r.tags})
    shown = rows[:DEFAULT_LIMIT]
    filters = {"tag": tag} if tag else {}
    notice = NOTICES.get(msg or "")
    context = {
        "active": "broadcast",
        "posts": shown,
        "tags": tags,
        "tag": tag,
        "notice": page.gettext(notice) if notice else None,
        "form": form or blank_post_form(),
        "problems": problems or [],
        "previews": previews or [],
        "preview_problems": [],
        "variables": ", ".join("{" + v + "}" for v in VARIABLES),
        "next_url": "/broadcast?" + urlencode({**filters, "cursor": encode_cursor([shown[-1].id])})
        if len(rows) > DEFAULT_LIMIT
        else None,
        "first_url": "/broadcast" + (f"?{urlencode(filters)}" if filters else "")
        if before is not None
        else None,
    }
    return render(request, "broadcast/library.html.j2", context, page=page, status=status)


@router.get("/broadcast")
def library_page(
    request: Request,
    who: CanView,
    tag: Annotated[str | None, Query(max_length=32)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    msg: Annotated[str | None, Query(max_length=16)] = None,
) -> Response:
    page = page_context(request, who)
    if page.community is None:
        return render(request, "overview/empty.html.j2", {"active": "broadcast"}, page=page)
    return _library(request, who, page, tag=tag or None, before=id_cursor(cursor), msg=msg)


def _post_page(
    request: Request,
    page: PageContext,
    post_id: int,
    form: dict[str, str],
    *,
    msg: str | None = None,
    problems: list[str] | None = None,
    previews: list[dict[str, Any]] | None = None,
    status: int = 200,
) -> Response:
    notice = NOTICES.get(msg or "")
    context = {
        "active": "broadcast",
        "post_id": post_id,
        "form": form,
        "notice": page.gettext(notice) if notice else None,
        "problems": problems or [],
        "previews": previews or [],
        "preview_problems": [],
        "variables": ", ".join("{" + v + "}" for v in VARIABLES),
    }
    return render(request, "broadcast/post.html.j2", context, page=page, status=status)


def _stored(request: Request, cid: int, post_id: int) -> broadcast.PostRow:
    try:
        with web_of(request).read() as conn:
            return broadcast.get_post(conn, cid, post_id)
    except broadcast.BroadcastNotFound:
        raise NotFound(f"no post {post_id}") from None


@router.get("/broadcast/posts/{post_id}")
def post_page(
    request: Request,
    who: CanView,
    post_id: Id,
    msg: Annotated[str | None, Query(max_length=16)] = None,
) -> Response:
    """The post's form (read-only for a viewer) and its preview on every platform."""
    page = page_context(request, who)
    cid = community_id(page)
    row = _stored(request, cid, post_id)
    problems: list[str] = []
    previews: list[dict[str, Any]] = []
    try:
        previews = preview_view(run_preview(request, cid, post_id, None, page.locale), page.locale)
    except Refused as error:
        problems = error.detail["problems"]
    form = post_form(row.title, row.post)
    return _post_page(request, page, post_id, form, msg=msg, problems=problems, previews=previews)


def _form(
    title: str, tags: str, default_lang: str, text_zh: str, text_en: str, images: str, links: str
) -> dict[str, str]:
    return {
        "title": title,
        "tags": tags,
        "default_lang": default_lang,
        "text_zh": text_zh,
        "text_en": text_en,
        "images": images,
        "links": links,
    }


@router.post("/broadcast/posts")
def create_post(
    request: Request,
    who: CanBroadcast,
    title: Short = "",
    tags: Short = "",
    default_lang: Annotated[str, Form(max_length=16)] = "zh-CN",
    text_zh: Field = "",
    text_en: Field = "",
    images: Field = "",
    links: Field = "",
) -> Response:
    page = page_context(request, who)
    cid = community_id(page)
    form = _form(title, tags, default_lang, text_zh, text_en, images, links)
    try:
        row = save(request, who, cid, post_data(form), lang=page.locale)
    except Refused as error:
        return _library(
            request, who, page, form=form, problems=error.detail["problems"], status=422
        )
    return RedirectResponse(f"/broadcast/posts/{row.id}?msg=created", status_code=303)


@router.post("/broadcast/posts/{post_id}")
def update_post(
    request: Request,
    who: CanBroadcast,
    post_id: Id,
    title: Short = "",
    tags: Short = "",
    default_lang: Annotated[str, Form(max_length=16)] = "zh-CN",
    text_zh: Field = "",
    text_en: Field = "",
    images: Field = "",
    links: Field = "",
) -> Response:
    page = page_context(request, who)
    cid = community_id(page)
    _stored(request, cid, post_id)
    form = _form(title, tags, default_lang, text_zh, text_en, images, links)
    try:
        save(request, who, cid, post_data(form), lang=page.locale, post_id=post_id)
    except Refused as error:
        return _post_page(
            request, page, post_id, form, problems=error.detail["problems"], status=422
        )
    return RedirectResponse(f"/broadcast/posts/{post_id}?msg=saved", status_code=303)


@router.post("/broadcast/posts/{post_id}/delete")
def delete_post(request: Request, who: CanBroadcast, post_id: Id) -> Response:
    page = page_context(request, who)
    cid = community_id(page)
    try:
        remove(request, who, cid, post_id, page.locale)
    except Refused as error:
        row = _stored(request, cid, post_id)
        return _post_page(
            request,
            page,
            post_id,
            post_form(row.title, row.post),
            problems=error.detail["problems"],
            status=422,
        )
    return RedirectResponse("/broadcast?msg=deleted", status_code=303)


@router.post("/broadcast/preview")
def preview(
    request: Request,
    who: CanView,
    title: Short = "",
    tags: Short = "",
    default_lang: Annotated[str, Form(max_length=16)] = "zh-CN",
    text_zh: Field = "",
    text_en: Field = "",
    images: Field = "",
    links: Field = "",
    post_id: Annotated[int | None, Form(ge=1, le=MAX_ID)] = None,
) -> Response:
    """The form's post as each platform will show it: the preview alone for HTMX, else
    the page it came from with the preview filled in."""
    page = page_context(request, who)
    cid = community_id(page)
    form = _form(title, tags, default_lang, text_zh, text_en, images, links)
    previews: list[dict[str, Any]] = []
    problems: list[str] = []
    try:
        previews = preview_view(
            run_preview(request, cid, post_data(form), None, page.locale), page.locale
        )
    except Refused as error:
        problems = error.detail["problems"]
    if request.headers.get("hx-request") == "true":
        context = {"previews": previews, "preview_problems": problems}
        return render(request, "broadcast/_preview.html.j2", context, page=page)
    if post_id is not None:
        _stored(request, cid, post_id)
        return _post_page(request, page, post_id, form, problems=problems, previews=previews)
    return _library(request, who, page, form=form, problems=problems, previews=previews)
