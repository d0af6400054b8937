"""``/api/v1/rules``: the group rules of every kind, as scripts and the rules pages change them.

A rule's settings are one JSON document that its family's pure logic checks before
anything is stored (``features.rules``). A refused rule answers 422 with the code
``invalid_rule`` and every problem in ``detail.problems``, so a script fixes them in
one pass; nothing is written then. Every change is audited in its own transaction.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from shequn.features.rules import service as rules
from shequn.features.rules.kinds import KINDS, UnknownKind
from shequn.kit.errors import RuleError
from shequn.web.api.bots import community_for
from shequn.web.api.communities import Lang, lang_of
from shequn.web.api.rule_edits import (
    MAX_NAME,
    MAX_POSITION,
    Draft,
    change,
    clean_name,
    find_rule,
    groups_of,
    remove,
    save,
    storable_settings,
)
from shequn.web.auth import CanManageRules, CanView
from shequn.web.context import web_of
from shequn.web.errors import ERROR_RESPONSES, Invalid, NotFound, WebError
from shequn.web.paging import DEFAULT_LIMIT, MAX_LIMIT, Page, decode_cursor, encode_cursor

router = APIRouter(tags=["rules"], responses=ERROR_RESPONSES)
MAX_ID = 2**31 - 1
Id = Annotated[int, Path(ge=1, le=MAX_ID)]
CommunityParam = Annotated[int | None, Query(ge=1, le=MAX_ID)]
Position = Annotated[int, Field(ge=0, le=MAX_POSITION)]
Kind = Literal[tuple(sorted(KINDS))]  # type: ignore[valid-type]


class RuleRefused(WebError):
    """The family's logic refused the rule; ``detail.problems`` lists why."""

    status, code = 422, "invalid_rule"


RuleName = Annotated[str, Field(min_length=1, max_length=MAX_NAME * 2), AfterValidator(clean_name)]
RuleSettings = Annotated[dict[str, Any], AfterValidator(storable_settings)]


@contextmanager
def refusals(lang: str) -> Iterator[None]:
    """Turn a refused rule into the API's 422 ``invalid_rule`` answer."""
    try:
        yield
    except RuleError as error:
        problems = error.lines(lang) or [str(error)]
        raise RuleRefused(
            "the rule cannot work: " + "; ".join(error.lines("en") or [str(error)]),
            detail={"problems": problems, "lang": lang},
        ) from None
    except UnknownKind as error:
        raise RuleRefused(str(error), detail={"problems": [str(error)], "lang": lang}) from None
    except rules.RuleNotFound as error:
        raise NotFound(str(error)) from None


# --- the API -------------------------------------------------------------------------------


class RuleOut(BaseModel):
    """A stored rule: where it applies and its checked settings."""

    id: int
    community_id: int
    group_id: int | None = Field(description="Null: every group of the community")
    group_name: str | None
    kind: str
    name: str
    position: int
    enabled: bool
    config: dict[str, Any] = Field(description="The settings as the family's logic stores them")
    updated_at: datetime


class RuleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Kind
    name: RuleName
    config: RuleSettings = Field(description="The settings, as the kind's family reads them")
    group_id: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="A group of the community: a per-group rule"
    )
    enabled: bool = True
    position: Position = 0
    community_id: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="Defaults to the caller's current community"
    )


class RuleReplace(BaseModel):
    """The whole rule but its kind, which never changes."""

    model_config = ConfigDict(extra="forbid")

    name: RuleName
    config: RuleSettings
    group_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    enabled: bool = True
    position: Position = 0


class RulePatch(BaseModel):
    """Turn a rule on or off, or move it; a field left out stays as it is."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool | None = None
    position: Position | None = None


def rule_out(rule: rules.StoredRule, names: Mapping[int, str]) -> RuleOut:
    return RuleOut(
        id=rule.id,
        community_id=rule.community_id,
        group_id=rule.group_id,
        group_name=names.get(rule.group_id) if rule.group_id is not None else None,
        kind=rule.kind,
        name=rule.name,
        position=rule.position,
        enabled=rule.enabled,
        config=dict(rule.config),
        updated_at=rule.updated_at,
    )


def _one_out(request: Request, rule: rules.StoredRule) -> RuleOut:
    with web_of(request).read() as conn:
        names = groups_of(conn, rule.community_id)
    return rule_out(rule, names)


def _after(cursor: str | None) -> tuple[int, int] | None:
    key = decode_cursor(cursor, 2)
    if key is None:
        return None
    position, rule_id = key
    if any(type(k) is not int or not 0 <= k <= MAX_ID for k in (position, rule_id)):
        raise Invalid("the cursor is not one this server gave out")
    return position, rule_id


@router.get("/rules", response_model=Page[RuleOut], summary="Group rules, in the operator's order")
def list_rules(
    request: Request,
    who: CanView,
    kind: Kind | None = None,
    group_id: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="Only this group's own rules")
    ] = None,
    community_id: CommunityParam = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Page[RuleOut]:
    """Ordered by position, then id. A community holds hundreds of rules at most, not
    millions, so the page is cut from the community's list."""
    after = _after(cursor)
    with web_of(request).read() as conn:
        ref = community_for(conn, who, community_id)
        found = rules.rules_of(conn, ref.community_id, kind)
        names = groups_of(conn, ref.community_id)
    if group_id is not None:
        found = [r for r in found if r.group_id == group_id]
    total = len(found)
    if after is not None:
        found = [r for r in found if (r.position, r.id) > after]
    shown = found[:limit]
    more = len(found) > limit
    return Page[RuleOut](
        items=[rule_out(r, names) for r in shown],
        next_cursor=encode_cursor([shown[-1].position, shown[-1].id]) if more else None,
        total=total,
    )


@router.post("/rules", response_model=RuleOut, status_code=201, summary="Create a rule")
def create_rule(
    request: Request,
    who: CanManageRules,
    body: RuleCreate,
    lang: Annotated[Lang | None, Query(description="Language of the problems")] = None,
) -> RuleOut:
    """A rule that cannot work answers 422 ``invalid_rule`` with every problem."""
    with web_of(request).read() as conn:
        ref = community_for(conn, who, body.community_id)
    draft = Draft(body.kind, body.name, body.config, body.group_id, body.enabled, body.position)
    with refusals(lang_of(request, who, lang)):
        rule = save(request, who, ref.community_id, draft)
    return _one_out(request, rule)


@router.get("/rules/{rule_id}", response_model=RuleOut, summary="One rule")
def get_rule(request: Request, who: CanView, rule_id: Id) -> RuleOut:
    with web_of(request).read() as conn:
        rule = find_rule(conn, who, rule_id)
    return _one_out(request, rule)


@router.put("/rules/{rule_id}", response_model=RuleOut, summary="Replace a rule")
def replace_rule(
    request: Request,
    who: CanManageRules,
    rule_id: Id,
    body: RuleReplace,
    lang: Annotated[Lang | None, Query(description="Language of the problems")] = None,
) -> RuleOut:
    with web_of(request).read() as conn:
        rule = find_rule(conn, who, rule_id)
    draft = Draft(rule.kind, body.name, body.config, body.group_id, body.enabled, body.position)
    with refusals(lang_of(request, who, lang)):
        saved = save(request, who, rule.community_id, draft, rule.id)
    return _one_out(request, saved)


@router.patch(
    "/rules/{rule_id}", response_model=RuleOut, summary="Turn a rule on or off, or move it"
)
def patch_rule(
    request: Request,
    who: CanManageRules,
    rule_id: Id,
    body: RulePatch,
    lang: Annotated[Lang | None, Query(description="Language of the problems")] = None,
) -> RuleOut:
    with web_of(request).read() as conn:
        rule = find_rule(conn, who, rule_id)
    with refusals(lang_of(request, who, lang)):
        changed = change(request, who, rule, enabled=body.enabled, position=body.position)
    return _one_out(request, changed)


@router.delete("/rules/{rule_id}", response_model=RuleOut, summary="Delete a rule")
def delete_rule(request: Request, who: CanManageRules, rule_id: Id) -> RuleOut:
    """Answers the rule as it was; what the rule remembered (cooldowns) goes with it."""
    with web_of(request).read() as conn:
        rule = find_rule(conn, who, rule_id)
        names = groups_of(conn, rule.community_id)
    with refusals("en"):
        gone = remove(request, who, rule)
    return rule_out(gone, names)
