"""``/rules``: the community's group rules of every kind — list them, turn them on and
off, reorder, delete, and write them.

The form edits a rule's name, its scope (every group, or one group: a per-group rule
replaces the community's rule of the same kind and name there), whether it is on, its
position, and its settings (JSON, with friendly fields for the common kinds; see
``rule_form``). A refused rule shows every problem beside the form, with the
operator's input kept, answered 422; nothing is stored. Changes go through the API's
functions, so each is audited in its own transaction.
"""

from __future__ import annotations

import contextlib
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import RedirectResponse, Response

from shequn.features.analytics.metrics import groups as community_groups
from shequn.features.community.setup import CommunityRef
from shequn.features.operators.service import Principal
from shequn.features.rules import service as rules
from shequn.features.rules.kinds import KINDS, check
from shequn.kit.errors import RuleError
from shequn.web.api.rule_edits import Draft, change, remove, reorder, save
from shequn.web.api.rules import MAX_ID
from shequn.web.auth import CanManageRules, CanView
from shequn.web.context import web_of
from shequn.web.errors import Invalid, NotFound
from shequn.web.pages import rule_form
from shequn.web.pages.overview import N_
from shequn.web.pages.rule_form import (
    CHECK_LABELS,
    KIND_HINTS,
    KIND_LABELS,
    MATCH_LABELS,
    SANCTION_LABELS,
    RuleForm,
)
from shequn.web.rendering import PageContext, page_context, render

router = APIRouter(include_in_schema=False)
Id = Annotated[int, PathParam(ge=1, le=MAX_ID)]
#: Longest settings document the form takes (the API is bounded by its validator).
MAX_SETTINGS = 200_000
Text = Annotated[str, Form(max_length=MAX_SETTINGS)]
Short = Annotated[str, Form(max_length=2000)]

NOTICES = {
    "created": N_("The rule is created."),
    "saved": N_("The rule is saved."),
    "deleted": N_("The rule is deleted."),
    "enabled": N_("The rule is on."),
    "disabled": N_("The rule is off."),
    "moved": N_("The order is saved."),
}


def _kind(kind: str | None) -> str | None:
    kind = (kind or "").strip() or None
    if kind is not None and kind not in KINDS:
        raise Invalid(f"unknown rule kind {kind!r}")
    return kind


def _url(path: str, **params: Any) -> str:
    shown = {k: v for k, v in params.items() if v not in (None, "")}
    return path + (f"?{urlencode(shown)}" if shown else "")


def _groups(request: Request, ref: CommunityRef) -> list[Any]:
    with web_of(request).read() as conn:
        return community_groups(conn, ref.community_id)


def _rows(
    found: list[rules.StoredRule], every: list[rules.StoredRule], names: dict[int, str]
) -> dict[str, list[dict[str, Any]]]:
    """The rules ``found`` by kind, each with its scope and, for a community rule, the
    groups where a per-group rule of the same kind and name (among ``every`` rule of
    the community) replaces it."""
    overrides: dict[tuple[str, str], list[str]] = {}
    for r in every:
        if r.group_id is not None:
            overrides.setdefault((r.kind, r.name), []).append(names.get(r.group_id, "?"))
    by_kind: dict[str, list[dict[str, Any]]] = {k: [] for k in KIND_LABELS}
    for r in found:
        by_kind[r.kind].append(
            {
                "rule": r,
                "group_name": names.get(r.group_id) if r.group_id is not None else None,
                "replaced_in": overrides.get((r.kind, r.name), []) if r.group_id is None else [],
            }
        )
    return by_kind


@router.get("/rules")
def rules_page(
    request: Request,
    who: CanView,
    kind: Annotated[str | None, Query(max_length=24)] = None,
    group_id: Annotated[str | None, Query(max_length=12)] = None,
    msg: Annotated[str | None, Query(max_length=16)] = None,
) -> Response:
    page = page_context(request, who)
    if page.community is None:
        return render(request, "overview/empty.html.j2", {"active": "rules"}, page=page)
    kind = _kind(kind)
    groups = _groups(request, page.community)
    names = {g.id: g.name for g in groups}
    scope = int(group_id) if (group_id or "").isdigit() and int(group_id) in names else None
    with web_of(request).read() as conn:
        found = rules.rules_of(conn, page.community.community_id)
    counts = {k: sum(1 for r in found if r.kind == k) for k in KIND_LABELS}
    shown = [
        r
        for r in found
        if (kind is None or r.kind == kind) and (scope is None or r.group_id in (None, scope))
    ]
    context = {
        "active": "rules",
        "kind": kind,
        "scope": scope,
        "groups": groups,
        "counts": counts,
        "total": len(found),
        "by_kind": _rows(shown, found, names),
        "kind_labels": KIND_LABELS,
        "kind_hints": KIND_HINTS,
        "tab_url": lambda k: _url("/rules", kind=k, group_id=scope),
        "notice": NOTICES.get(msg or ""),
    }
    return render(request, "rules/list.html.j2", context, page=page)


def _form_context(
    page: PageContext,
    groups: list[Any],
    kind: str,
    form: RuleForm,
    *,
    rule: rules.StoredRule | None = None,
    problems: list[str] | None = None,
) -> dict[str, Any]:
    return {
        "active": "rules",
        "kind": kind,
        "rule": rule,
        "form": form,
        "groups": groups,
        "problems": problems or [],
        "friendly": rule_form.FRIENDLY.get(kind, ()),
        "kind_labels": KIND_LABELS,
        "kind_hints": KIND_HINTS,
        "match_labels": MATCH_LABELS,
        "check_labels": CHECK_LABELS,
        "sanction_labels": SANCTION_LABELS,
        "max_settings": MAX_SETTINGS,
    }


def _shown(rule: rules.StoredRule) -> RuleForm:
    settings, fields = rule_form.show(rule.kind, rule.config)
    return RuleForm(
        name=rule.name,
        group_id=str(rule.group_id or ""),
        enabled=rule.enabled,
        position=str(rule.position),
        settings=settings,
        fields=fields,
    )


@router.get("/rules/new")
def new_rule(
    request: Request, who: CanManageRules, kind: Annotated[str | None, Query(max_length=24)] = None
) -> Response:
    """With a kind, the form, filled with a working example; without, the kinds to choose."""
    page = page_context(request, who)
    if page.community is None:
        return render(request, "overview/empty.html.j2", {"active": "rules"}, page=page)
    kind = _kind(kind)
    if kind is None:
        context = {"active": "rules", "kind_labels": KIND_LABELS, "kind_hints": KIND_HINTS}
        return render(request, "rules/kinds.html.j2", context, page=page)
    groups = _groups(request, page.community)
    spots = [rule_form.GroupSpot(g.platform, g.external_id) for g in groups]
    example = rule_form.starter(kind, spots, page.gettext)
    # Shown as it will be stored, defaults included; should the family refuse its own
    # example, it is shown as written, and saving says what the family wants.
    with contextlib.suppress(RuleError):
        example = check(kind, "-", example)
    settings, fields = rule_form.show(kind, example)
    form = RuleForm(name="", settings=settings, fields=fields)
    return render(request, "rules/edit.html.j2", _form_context(page, groups, kind, form), page=page)


def friendly_fields(
    match: Short = "",
    patterns: Text = "",
    reply: Text = "",
    cooldown_s: Short = "",
    check: Short = "",
    words: Text = "",
    actions: Annotated[list[str] | None, Form(max_length=10)] = None,
    mute_s: Short = "",
) -> dict[str, Any]:
    """The friendly fields a form may carry; the kind decides which count."""
    return {
        "match": match,
        "patterns": patterns,
        "reply": reply,
        "cooldown_s": cooldown_s,
        "check": check,
        "words": words,
        "actions": [a[:16] for a in actions or []],
        "mute_s": mute_s,
    }


Friendly = Annotated[dict[str, Any], Depends(friendly_fields)]


def _form(
    kind: str,
    name: str,
    group_id: str,
    enabled: str | None,
    position: str,
    settings: str,
    fields: dict[str, Any],
) -> RuleForm:
    kept = {k: v for k, v in fields.items() if k in rule_form.FRIENDLY.get(kind, ())}
    return RuleForm(name, group_id, bool(enabled), position, settings, kept)


def _save(
    request: Request,
    who: Principal,
    kind: str,
    form: RuleForm,
    rule: rules.StoredRule | None,
) -> Response:
    """Save what the form says, or show it again with every problem beside it."""
    page = page_context(request, who)
    if page.community is None:
        raise NotFound("no community yet")
    groups = _groups(request, page.community)
    read = rule_form.read(kind, form, {g.id: g.name for g in groups})
    problems = [page.gettext(p.message, **p.values) for p in read.problems]
    if read.config is not None:
        draft = Draft(kind, read.name, read.config, read.group_id, read.enabled, read.position)
        try:
            if problems:
                check(kind, read.name, read.config)  # the family's problems, said together
            else:
                cid = page.community.community_id
                save(request, who, cid, draft, rule.id if rule else None)
                notice = "saved" if rule else "created"
                return RedirectResponse(_url("/rules", kind=kind, msg=notice), status_code=303)
        except RuleError as error:
            problems += error.lines(page.locale) or [str(error)]
        except rules.RuleNotFound as error:
            raise NotFound(str(error)) from None
    context = _form_context(page, groups, kind, form, rule=rule, problems=problems)
    return render(request, "rules/edit.html.j2", context, page=page, status=422)


Name = Annotated[str, Form(max_length=500)]
GroupChoice = Annotated[str, Form(max_length=12)]
Enabled = Annotated[str | None, Form(max_length=8)]
PositionText = Annotated[str, Form(max_length=12)]


@router.post("/rules")
def create_rule(
    request: Request,
    who: CanManageRules,
    kind: Annotated[str, Form(max_length=24)],
    name: Name,
    fields: Friendly,
    group_id: GroupChoice = "",
    enabled: Enabled = None,
    position: PositionText = "0",
    settings: Text = "",
) -> Response:
    kind = _kind(kind) or ""
    if not kind:
        raise Invalid("choose the kind of rule")
    form = _form(kind, name, group_id, enabled, position, settings, fields)
    return _save(request, who, kind, form, None)


def _rule(request: Request, page: PageContext, rule_id: int) -> rules.StoredRule:
    if page.community is None:
        raise NotFound("no community yet")
    with web_of(request).read() as conn:
        try:
            return rules.get_rule(conn, page.community.community_id, rule_id)
        except rules.RuleNotFound:
            raise NotFound(f"no rule {rule_id} in this community") from None


@router.get("/rules/{rule_id}")
def rule_page(request: Request, who: CanView, rule_id: Id) -> Response:
    """The rule's form; read-only for a role that may not change rules."""
    page = page_context(request, who)
    rule = _rule(request, page, rule_id)
    assert page.community is not None
    groups = _groups(request, page.community)
    context = _form_context(page, groups, rule.kind, _shown(rule), rule=rule)
    return render(request, "rules/edit.html.j2", context, page=page)


@router.post("/rules/{rule_id}")
def update_rule(
    request: Request,
    who: CanManageRules,
    rule_id: Id,
    name: Name,
    fields: Friendly,
    group_id: GroupChoice = "",
    enabled: Enabled = None,
    position: PositionText = "0",
    settings: Text = "",
) -> Response:
    rule = _rule(request, page_context(request, who), rule_id)
    form = _form(rule.kind, name, group_id, enabled, position, settings, fields)
    return _save(request, who, rule.kind, form, rule)


@router.post("/rules/{rule_id}/toggle")
def toggle_rule(
    request: Request,
    who: CanManageRules,
    rule_id: Id,
    enabled: Annotated[str, Form(max_length=1, pattern="^[01]$")],
) -> Response:
    """Turn a rule on (``enabled=1``) or off (``0``)."""
    rule = _rule(request, page_context(request, who), rule_id)
    change(request, who, rule, enabled=enabled == "1")
    notice = "enabled" if enabled == "1" else "disabled"
    return RedirectResponse(_url("/rules", kind=rule.kind, msg=notice), status_code=303)


@router.post("/rules/{rule_id}/move")
def move_rule(
    request: Request,
    who: CanManageRules,
    rule_id: Id,
    direction: Annotated[str, Form(max_length=4, pattern="^(up|down)$")],
) -> Response:
    """Swap the rule with the one before (``up``) or after (``down``) it in its kind;
    the kind's rules are numbered 10, 20, 30… from then on."""
    page = page_context(request, who)
    rule = _rule(request, page, rule_id)
    assert page.community is not None
    with web_of(request).read() as conn:
        ordered = rules.rules_of(conn, page.community.community_id, rule.kind)
    at = next(n for n, r in enumerate(ordered) if r.id == rule.id)
    to = at - 1 if direction == "up" else at + 1
    if 0 <= to < len(ordered):
        ordered[at], ordered[to] = ordered[to], ordered[at]
        try:
            reorder(request, who, page.community.community_id, ordered)
        except RuleError as error:
            raise Invalid(error.text(page.locale)) from None
    return RedirectResponse(_url("/rules", kind=rule.kind, msg="moved"), status_code=303)


@router.post("/rules/{rule_id}/delete")
def delete_rule(request: Request, who: CanManageRules, rule_id: Id) -> Response:
    rule = _rule(request, page_context(request, who), rule_id)
    try:
        remove(request, who, rule)
    except rules.RuleNotFound as error:
        raise NotFound(str(error)) from None
    return RedirectResponse(_url("/rules", kind=rule.kind, msg="deleted"), status_code=303)
