"""Saving and loading group rules.

A rule's row says where it applies (its community, and a group for a per-group
override) and its settings are one JSON document that the family's pure logic checks
before anything is written: a rule that cannot work is refused with the logic's own
explanation and never stored, so a bad rule can never take a running group down.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from shequn.features.autoreply import AutoReplyRule, RuleError, validate_rule
from shequn.kit.errors import ShequnError
from shequn.models import GroupRule

_r = GroupRule.__table__
AUTOREPLY = "autoreply"
#: Settings kept in the row's own columns, not in its JSON document.
_COLUMNS = ("id", "name", "enabled")


class RuleNotFound(ShequnError):
    """No rule with that id in that community."""


def _autoreply(row_id: int, name: str, enabled: bool, config: Mapping[str, Any]) -> AutoReplyRule:
    values = {k: v for k, v in config.items() if k not in _COLUMNS}
    return AutoReplyRule.from_dict({**values, "id": str(row_id), "name": name, "enabled": enabled})


def check_autoreply(name: str, config: Mapping[str, Any]) -> dict[str, Any]:
    """The settings as they will be stored, or ``RuleError`` with every problem."""
    rule = _autoreply(0, name, True, config)
    problems = validate_rule(rule)
    if problems:
        raise RuleError(problems)
    return {k: v for k, v in rule.to_dict().items() if k not in _COLUMNS}


def save_autoreply(
    conn: Connection,
    community_id: int,
    name: str,
    config: Mapping[str, Any],
    *,
    now: datetime,
    group_id: int | None = None,
    enabled: bool = True,
    position: int = 0,
    rule_id: int | None = None,
) -> int:
    """Create or replace an auto-reply rule after checking it; returns its id."""
    stored = check_autoreply(name, config)
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
                .values(community_id=community_id, kind=AUTOREPLY, created_at=now, **values)
                .returning(_r.c.id)
            ).scalar_one()
        )
    done = conn.execute(
        update(_r)
        .where(_r.c.id == rule_id, _r.c.community_id == community_id, _r.c.kind == AUTOREPLY)
        .values(**values)
    )
    if done.rowcount == 0:
        raise RuleNotFound(f"no auto-reply rule {rule_id} in this community")
    return rule_id


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


def autoreply_rules(conn: Connection, community_id: int) -> list[AutoReplyRule]:
    """The community's enabled auto-reply rules, in the operator's order. A per-group rule
    applies to its group alone."""
    out = []
    for row in conn.execute(
        select(_r.c.id, _r.c.name, _r.c.enabled, _r.c.group_id, _r.c.config)
        .where(_r.c.community_id == community_id, _r.c.kind == AUTOREPLY, _r.c.enabled)
        .order_by(_r.c.position, _r.c.id)
    ):
        config = dict(row.config)
        if row.group_id is not None:
            config["groups"] = [row.group_id]
        out.append(_autoreply(row.id, row.name, row.enabled, config))
    return out
