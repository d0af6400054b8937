"""``/tags``: the workspace's tags with how many members carry each; create, edit and
delete them.

A refused change (a name already taken, a blank name) shows the page again with
the reason beside the form and the operator's input kept, answered 409 or 422.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import RedirectResponse, Response

from shequn.features.community import tags as tagging
from shequn.features.community.tags import TagError
from shequn.features.operators.service import Principal
from shequn.web.api.members import MAX_ID
from shequn.web.api.tags import change, create, remove
from shequn.web.auth import CanManageTags, CanView
from shequn.web.context import web_of
from shequn.web.errors import NotFound
from shequn.web.rendering import PageContext, page_context, render

router = APIRouter(include_in_schema=False)
Id = Annotated[int, PathParam(ge=1, le=MAX_ID)]
Name = Annotated[str, Form(max_length=tagging.MAX_TAG_NAME + 50)]
Colour = Annotated[str, Form(max_length=16)]
Description = Annotated[str, Form(max_length=tagging.MAX_DESCRIPTION + 50)]


def _messages(page: PageContext) -> dict[str, str]:
    return {
        "created": page.gettext("The tag is created."),
        "updated": page.gettext("The tag is saved."),
        "deleted": page.gettext("The tag is deleted."),
    }


def _refusal(page: PageContext, error: TagError) -> str:
    return {
        "taken": page.gettext("A tag with this name already exists."),
        "blank": page.gettext("A tag needs a name."),
        "too_long": page.gettext("The name or the description is too long."),
        "control": page.gettext(
            "The name or the description holds characters that are not allowed."
        ),
        "colour": page.gettext("Choose a colour from the list."),
    }.get(error.code, page.gettext("This request could not be carried out."))


def _colour_names(page: PageContext) -> dict[str, str]:
    return {
        "gray": page.gettext("Grey"),
        "red": page.gettext("Red"),
        "orange": page.gettext("Orange"),
        "yellow": page.gettext("Yellow"),
        "green": page.gettext("Green"),
        "teal": page.gettext("Teal"),
        "blue": page.gettext("Blue"),
        "purple": page.gettext("Purple"),
        "pink": page.gettext("Pink"),
    }


def _status(error: TagError) -> int:
    """409 for a name already taken (the state refuses it), 422 for malformed input."""
    return 409 if error.code == "taken" else 422


def _list(
    request: Request,
    who: Principal,
    *,
    flash: str | None = None,
    error: str | None = None,
    form: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    page = page_context(request, who)
    with web_of(request).read() as conn:
        tags = tagging.list_tags(conn, who.workspace_id)
    return render(
        request,
        "tags/list.html.j2",
        {
            "tags": tags,
            "palette": tagging.PALETTE,
            "colour_names": _colour_names(page),
            "flash": _messages(page).get(flash or ""),
            "error": error,
            "form": form or {"name": "", "color": "", "description": ""},
            "active": "tags",
        },
        page=page,
        status=status,
    )


@router.get("/tags")
def tags_page(
    request: Request, who: CanView, msg: Annotated[str | None, Query(max_length=20)] = None
) -> Response:
    return _list(request, who, flash=msg)


@router.post("/tags")
def create_tag(
    request: Request,
    who: CanManageTags,
    name: Name,
    color: Colour = "",
    description: Description = "",
) -> Response:
    try:
        create(request, who, name, color or None, description or None)
    except TagError as exc:
        form = {"name": name, "color": color, "description": description}
        page = page_context(request, who)
        return _list(request, who, error=_refusal(page, exc), form=form, status=_status(exc))
    return RedirectResponse("/tags?msg=created", status_code=303)


def _edit(
    request: Request,
    who: Principal,
    tag: tagging.TagInfo,
    *,
    error: str | None = None,
    form: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    page = page_context(request, who)
    return render(
        request,
        "tags/edit.html.j2",
        {
            "tag": tag,
            "palette": tagging.PALETTE,
            "colour_names": _colour_names(page),
            "error": error,
            "form": form
            or {"name": tag.name, "color": tag.color or "", "description": tag.description or ""},
            "active": "tags",
        },
        page=page,
        status=status,
    )


def _tag(request: Request, who: Principal, tag_id: int) -> tagging.TagInfo:
    with web_of(request).read() as conn:
        tag = tagging.get_tag(conn, who.workspace_id, tag_id)
    if tag is None:
        raise NotFound(f"no tag {tag_id}")
    return tag


@router.get("/tags/{tag_id}")
def edit_page(request: Request, who: CanManageTags, tag_id: Id) -> Response:
    return _edit(request, who, _tag(request, who, tag_id))


@router.post("/tags/{tag_id}")
def update_tag(
    request: Request,
    who: CanManageTags,
    tag_id: Id,
    name: Name,
    color: Colour = "",
    description: Description = "",
) -> Response:
    tag = _tag(request, who, tag_id)
    changes = {"name": name, "color": color or None, "description": description or None}
    try:
        change(request, who, tag_id, changes)
    except TagError as exc:
        form = {"name": name, "color": color, "description": description}
        page = page_context(request, who)
        return _edit(request, who, tag, error=_refusal(page, exc), form=form, status=_status(exc))
    return RedirectResponse("/tags?msg=updated", status_code=303)


@router.post("/tags/{tag_id}/delete")
def delete_tag(request: Request, who: CanManageTags, tag_id: Id) -> Response:
    remove(request, who, tag_id)
    return RedirectResponse("/tags?msg=deleted", status_code=303)
