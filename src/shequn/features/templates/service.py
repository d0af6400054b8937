"""Group templates, stored, and applied to groups.

A template is checked whole before it is stored: its shape by ``Template.from_dict``, and
each of its rules by that rule's family (``features.rules``), so applying it later cannot
meet a rule that was never valid. Applying copies the rules into the group's scope through
the rules service (checked again: the family's logic may have grown stricter since) and
returns the platform actions that give staff their roles and titles back; a rule that no
longer passes is skipped and reported, and never stops the others.

Nothing here commits: the caller's transaction holds every change, so a refused change
writes nothing. The pool's places are kept by ``places``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from shequn.core import Action
from shequn.features.rules.service import KINDS, check, rules_of, save_rule
from shequn.features.templates.pool import PoolError
from shequn.features.templates.template import (
    MAX_NAME,
    Problem,
    RuleCopy,
    StaffSeat,
    Template,
    TemplateError,
    plan,
    snapshot,
)
from shequn.kit.errors import RuleError, ShequnError
from shequn.models import Group, Identity, Membership
from shequn.models.templates import GroupTemplate

_t = GroupTemplate.__table__
_g = Group.__table__
_seat = Membership.__table__
_id = Identity.__table__


class TemplateNotFound(ShequnError):
    """No template with that id in that community."""


@dataclass(frozen=True, slots=True)
class StoredTemplate:
    id: int
    community_id: int
    name: str
    template: Template
    updated_at: datetime


# --- templates ------------------------------------------------------------------------


def check_template(config: Mapping[str, Any]) -> Template:
    """The template as it will be stored (each rule's settings as its family keeps them),
    or ``TemplateError`` listing every problem, the rules' own among them."""
    template = Template.from_dict(config)
    problems: list[Problem] = []
    rules = []
    for index, rule in enumerate(template.rules):
        where = f"rules[{index}] ({rule.kind} {rule.name!r})"
        try:
            rules.append(replace(rule, config=check(rule.kind, rule.name, rule.config)))
        except RuleError as exc:
            pairs = zip(exc.lines("en"), exc.lines("zh-CN"), strict=True)
            for en, zh in list(pairs) or [(str(exc), str(exc))]:
                problems.append(Problem(f"{where}: {en}", f"{where}：{zh}"))
        except ShequnError as exc:  # an unknown kind
            problems.append(Problem(f"{where}: {exc}", f"{where}：{exc}"))
    if problems:
        raise TemplateError(problems)
    return replace(template, rules=tuple(rules))


def save_template(
    conn: Connection,
    community_id: int,
    name: str,
    config: Mapping[str, Any],
    *,
    now: datetime,
    template_id: int | None = None,
) -> int:
    """Create or replace a template after checking it whole; returns its id."""
    name = name.strip() if isinstance(name, str) else ""
    if not name or len(name) > MAX_NAME:
        raise TemplateError(
            [Problem(f"name: 1 to {MAX_NAME} characters", f"名称：1 到 {MAX_NAME} 个字符")]
        )
    stored = check_template(config).to_dict()
    clash = conn.execute(
        select(_t.c.id).where(_t.c.community_id == community_id, _t.c.name == name)
    ).scalar()
    if clash is not None and clash != template_id:
        raise TemplateError(
            [Problem(f"a template named {name!r} exists", f"已有名为“{name}”的模板")]
        )
    if template_id is None:
        return int(
            conn.execute(
                insert(_t)
                .values(
                    community_id=community_id,
                    name=name,
                    config=stored,
                    created_at=now,
                    updated_at=now,
                )
                .returning(_t.c.id)
            ).scalar_one()
        )
    done = conn.execute(
        update(_t)
        .where(_t.c.id == template_id, _t.c.community_id == community_id)
        .values(name=name, config=stored, updated_at=now)
    )
    if done.rowcount == 0:
        raise TemplateNotFound(f"no template {template_id} in this community")
    return template_id


def group_row(conn: Connection, community_id: int, group_id: int) -> Any:
    row = conn.execute(
        select(_g.c.id, _g.c.platform, _g.c.external_id, _g.c.name).where(
            _g.c.id == group_id, _g.c.community_id == community_id
        )
    ).first()
    if row is None:
        raise PoolError(f"group {group_id} is not in this community")
    return row


def template_of_group(
    conn: Connection,
    community_id: int,
    group_id: int,
    *,
    schedules: Sequence[Mapping[str, Any]] = (),
) -> Template:
    """A template taken from a group: its own rules, its staff on its platform."""
    group = group_row(conn, community_id, group_id)
    rules = [
        RuleCopy(r.kind, r.name, r.config, r.enabled, r.position)
        for r in rules_of(conn, community_id)
        if r.group_id == group_id
    ]
    staff: dict[int, StaffSeat] = {}
    for member_id, external_id, role, title in conn.execute(
        select(_seat.c.member_id, _id.c.external_id, _seat.c.role, _seat.c.title)
        .join(_id, _id.c.member_id == _seat.c.member_id)
        .where(
            _seat.c.group_id == group_id,
            _seat.c.left_at.is_(None),
            _id.c.platform == group.platform,
            (_seat.c.role.in_(["owner", "admin"])) | (func.coalesce(_seat.c.title, "") != ""),
        )
        .order_by(_seat.c.member_id, _id.c.external_id)
    ):
        staff.setdefault(member_id, StaffSeat(group.platform, external_id, role, title or ""))
    return snapshot(rules, staff.values(), schedules)


def _stored(row: Any) -> StoredTemplate:
    return StoredTemplate(
        row.id, row.community_id, row.name, Template.from_dict(row.config), row.updated_at
    )


def get_template(conn: Connection, community_id: int, template_id: int) -> StoredTemplate:
    row = conn.execute(
        select(_t).where(_t.c.id == template_id, _t.c.community_id == community_id)
    ).first()
    if row is None:
        raise TemplateNotFound(f"no template {template_id} in this community")
    return _stored(row)


def templates_of(conn: Connection, community_id: int) -> list[StoredTemplate]:
    query = select(_t).where(_t.c.community_id == community_id).order_by(_t.c.name, _t.c.id)
    return [_stored(row) for row in conn.execute(query)]


def delete_template(conn: Connection, community_id: int, template_id: int) -> None:
    """Remove a template; pool places that used it keep their groups and lose the link."""
    done = conn.execute(delete(_t).where(_t.c.id == template_id, _t.c.community_id == community_id))
    if done.rowcount == 0:
        raise TemplateNotFound(f"no template {template_id} in this community")


@dataclass(slots=True)
class Applied:
    """What applying a template did: rules copied (their ids), rules the group had,
    rules refused now (with why), and the platform actions still to queue."""

    rule_ids: list[int] = field(default_factory=list)
    skipped: list[RuleCopy] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    schedules: list[Mapping[str, Any]] = field(default_factory=list)


def apply_template(
    conn: Connection,
    community_id: int,
    template_id: int,
    group_id: int,
    *,
    now: datetime,
    key: str,
    creator: str | None = None,
) -> Applied:
    """Copy the template's rules into the group and plan its staff's roles and titles.
    ``key`` starts the actions' idempotency keys; ``creator`` is the account that made the
    group, which needs no invitation."""
    stored = get_template(conn, community_id, template_id)
    group = group_row(conn, community_id, group_id)
    existing = {(r.kind, r.name) for r in rules_of(conn, community_id) if r.group_id == group_id}
    steps = plan(
        stored.template,
        platform=group.platform,
        group=group.external_id,
        key=key,
        existing=existing,
        one_per_group={k.name for k in KINDS.values() if k.one_per_group},
        creator=creator,
    )
    applied = Applied(
        skipped=list(steps.skipped), actions=list(steps.actions), schedules=list(steps.schedules)
    )
    for rule in steps.copy:
        try:
            rule_id = save_rule(
                conn,
                community_id,
                rule.kind,
                rule.name,
                rule.config,
                now=now,
                group_id=group_id,
                enabled=rule.enabled,
                position=rule.position,
            )
        except ShequnError as exc:  # the family refuses it now, or the kind is gone
            text = exc.text("en") if isinstance(exc, RuleError) else str(exc)
            applied.refused.append(f"{rule.kind} {rule.name!r}: {text}")
            continue
        applied.rule_ids.append(rule_id)
    return applied
