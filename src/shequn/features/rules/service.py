"""Saving and loading group rules of every kind.

A rule's row says where it applies (its community, and a group for a per-group
override) and its settings are one JSON document that the family's pure logic checks
before anything is written: a rule that cannot work is refused with the logic's own
explanation and never stored, so a bad rule can never take a running group down.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from shequn.features.autoreply import AutoReplyRule
from shequn.features.rules.kinds import AUTOREPLY, KINDS, build, check
from shequn.kit.errors import RuleError, ShequnError
from shequn.kit.wording import is_chinese
from shequn.models import GroupRule

_r = GroupRule.__table__

__all__ = [
    "AUTOREPLY",
    "KINDS",
    "OnePerScope",
    "RuleNotFound",
    "StoredRule",
    "autoreply_rules",
    "build",
    "check",
    "delete_rule",
    "get_rule",
    "rules_of",
    "save_autoreply",
    "save_rule",
    "set_enabled",
    "version",
]


class RuleNotFound(ShequnError):
    """No rule with that id (and kind) in that community."""


class OnePerScope(RuleError):
    """A second rule of a kind a group has only one of (its welcome, its admission
    policy, its warning ladder, its name-card format) in the same scope."""

    def __init__(self, kind: str, group_id: int | None, existing: int) -> None:
        self.kind, self.group_id, self.existing = kind, group_id, existing
        super().__init__(self.text("en"))

    def lines(self, lang: str) -> list[str]:
        if is_chinese(lang):
            where = f"群 {self.group_id}" if self.group_id is not None else "整个社群"
            return [f"{where}已有一条 {self.kind} 规则（{self.existing}），请编辑它而不是再加一条"]
        where = f"group {self.group_id}" if self.group_id is not None else "the whole community"
        return [
            f"{where} already has a {self.kind} rule ({self.existing}); "
            "edit it instead of adding another"
        ]


@dataclass(frozen=True, slots=True)
class StoredRule:
    """A rule as stored: where it applies and its checked settings."""

    id: int
    community_id: int
    group_id: int | None
    kind: str
    name: str
    position: int
    enabled: bool
    config: Mapping[str, Any]
    updated_at: datetime

    def build(self) -> Any:
        """The family's logic object for this rule (its id is the row's id)."""
        return build(self.kind, self.id, self.name, self.config, enabled=self.enabled)


def save_rule(
    conn: Connection,
    community_id: int,
    kind: str,
    name: str,
    config: Mapping[str, Any],
    *,
    now: datetime,
    group_id: int | None = None,
    enabled: bool = True,
    position: int = 0,
    rule_id: int | None = None,
) -> int:
    """Create or replace a rule after its family's logic checked it; returns its id.

    Raises the family's ``RuleError`` (a ``kit.errors.RuleError``) naming every problem,
    and writes nothing then."""
    stored = check(kind, name, config)
    if KINDS[kind].one_per_group:
        _only_one(conn, community_id, kind, group_id, rule_id)
    values = {
        "name": name,
        "config": stored,
        "enabled": enabled,
        "position": position,
        "group_id": group_id,
        "updated_at": now,
    }
    if rule_id is None:
        return int(
            conn.execute(
                insert(_r)
                .values(community_id=community_id, kind=kind, created_at=now, **values)
                .returning(_r.c.id)
            ).scalar_one()
        )
    done = conn.execute(
        update(_r)
        .where(_r.c.id == rule_id, _r.c.community_id == community_id, _r.c.kind == kind)
        .values(**values)
    )
    if done.rowcount == 0:
        raise RuleNotFound(f"no {kind} rule {rule_id} in this community")
    return rule_id


def _only_one(
    conn: Connection, community_id: int, kind: str, group_id: int | None, rule_id: int | None
) -> None:
    scope = _r.c.group_id.is_(None) if group_id is None else _r.c.group_id == group_id
    query = select(_r.c.id).where(_r.c.community_id == community_id, _r.c.kind == kind, scope)
    if rule_id is not None:
        query = query.where(_r.c.id != rule_id)
    existing = conn.execute(query.limit(1)).scalar()
    if existing is not None:
        raise OnePerScope(kind, group_id, existing)


def save_autoreply(
    conn: Connection,
    community_id: int,
    name: str,
    config: Mapping[str, Any],
    **kw: Any,
) -> int:
    return save_rule(conn, community_id, AUTOREPLY, name, config, **kw)


def set_enabled(
    conn: Connection, community_id: int, rule_id: int, enabled: bool, *, now: datetime
) -> None:
    done = conn.execute(
        update(_r)
        .where(_r.c.id == rule_id, _r.c.community_id == community_id)
        .values(enabled=enabled, updated_at=now)
    )
    if done.rowcount == 0:
        raise RuleNotFound(f"no rule {rule_id} in this community")


def delete_rule(conn: Connection, community_id: int, rule_id: int) -> None:
    done = conn.execute(delete(_r).where(_r.c.id == rule_id, _r.c.community_id == community_id))
    if done.rowcount == 0:
        raise RuleNotFound(f"no rule {rule_id} in this community")


def version(conn: Connection, community_id: int, kind: str) -> tuple[Any, ...]:
    """What changes whenever a rule of this kind is added, edited or removed: a compiled
    rule set is reused for as long as it is the same."""
    return tuple(
        conn.execute(
            select(func.count(), func.max(_r.c.id), func.max(_r.c.updated_at)).where(
                _r.c.community_id == community_id, _r.c.kind == kind
            )
        ).one()
    )


def _stored(row: Any) -> StoredRule:
    return StoredRule(
        id=row.id,
        community_id=row.community_id,
        group_id=row.group_id,
        kind=row.kind,
        name=row.name,
        position=row.position,
        enabled=row.enabled,
        config=dict(row.config),
        updated_at=row.updated_at,
    )


def rules_of(
    conn: Connection,
    community_id: int,
    kinds: str | Sequence[str] | None = None,
    *,
    enabled_only: bool = False,
) -> list[StoredRule]:
    """The community's rules (of ``kinds``), in the operator's order."""
    query = select(_r).where(_r.c.community_id == community_id)
    if kinds is not None:
        query = query.where(_r.c.kind.in_([kinds] if isinstance(kinds, str) else list(kinds)))
    if enabled_only:
        query = query.where(_r.c.enabled)
    return [_stored(row) for row in conn.execute(query.order_by(_r.c.position, _r.c.id))]


def get_rule(conn: Connection, community_id: int, rule_id: int) -> StoredRule:
    row = conn.execute(
        select(_r).where(_r.c.id == rule_id, _r.c.community_id == community_id)
    ).first()
    if row is None:
        raise RuleNotFound(f"no rule {rule_id} in this community")
    return _stored(row)


def autoreply_rules(conn: Connection, community_id: int) -> list[AutoReplyRule]:
    """The community's enabled auto-reply rules, in the operator's order. A per-group rule
    applies to its group alone."""
    out = []
    for stored in rules_of(conn, community_id, AUTOREPLY, enabled_only=True):
        rule = stored.build()
        if stored.group_id is not None:
            rule = AutoReplyRule.from_dict({**rule.to_dict(), "groups": [stored.group_id]})
        out.append(rule)
    return out
