"""Changing group rules on behalf of an operator: what the rules API and the rules pages
share. Each change runs in one transaction with its audit entry, after the family's
logic checked the rule (``features.rules``); a refused rule raises the family's
RuleError and writes nothing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from fastapi import Request
from sqlalchemy import Connection

from shequn.features.analytics.metrics import groups as community_groups
from shequn.features.audit.service import record
from shequn.features.community.member_filter import has_control
from shequn.features.community.setup import communities_of
from shequn.features.operators.service import Principal
from shequn.features.rules import service as rules
from shequn.web.auth import actor_of
from shequn.web.context import web_of
from shequn.web.errors import Invalid, NotFound

#: The column's width (``group_rule.name``).
MAX_NAME = 120
#: Positions order rules within a kind; this leaves room for any hand-made numbering.
MAX_POSITION = 1_000_000
#: How deep and how big a rule's settings may be: far beyond any real rule, and a bound
#: on what one request can make the family's logic read.
MAX_DEPTH = 16
MAX_NODES = 20_000
_INT64 = 2**63


def clean_name(value: str) -> str:
    """A rule's name as stored: trimmed, one line, no control characters."""
    value = value.strip()
    if not value:
        raise ValueError("a rule needs a name")
    if has_control(value) or "\n" in value or "\r" in value:
        raise ValueError("the name holds control characters or line breaks")
    if len(value) > MAX_NAME:
        raise ValueError(f"the name is longer than {MAX_NAME} characters")
    return value


def storable_settings(value: Any) -> Any:
    """Settings every database can store as JSON: text without NUL or lone surrogates,
    whole numbers within 64 bits, finite numbers, bounded depth and size. Raises
    ValueError saying where the first value that cannot be stored is."""
    nodes = 0

    def walk(node: Any, where: str, depth: int) -> None:
        nonlocal nodes
        nodes += 1
        if nodes > MAX_NODES:
            raise ValueError(f"the settings hold more than {MAX_NODES} values")
        if depth > MAX_DEPTH:
            raise ValueError(f"the settings nest deeper than {MAX_DEPTH} levels at {where}")
        if isinstance(node, str):
            _text(node, where)
        elif isinstance(node, bool) or node is None:
            return
        elif isinstance(node, int):
            if not -_INT64 <= node < _INT64:
                raise ValueError(f"the number at {where} is too large")
        elif isinstance(node, float):
            if not math.isfinite(node):
                raise ValueError(f"the number at {where} is not finite")
        elif isinstance(node, Mapping):
            for key, item in node.items():
                _text(str(key), f"{where}.{key!r}")
                walk(item, f"{where}.{key}", depth + 1)
        elif isinstance(node, list | tuple):
            for n, item in enumerate(node):
                walk(item, f"{where}[{n}]", depth + 1)
        else:
            raise ValueError(f"the value at {where} is not JSON")

    walk(value, "settings", 0)
    return value


def _text(value: str, where: str) -> None:
    if "\x00" in value:
        raise ValueError(f"the text at {where} holds a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"the text at {where} is not valid Unicode") from None


@dataclass(frozen=True, slots=True)
class Draft:
    """A rule as an operator wants it: what ``save`` checks and stores."""

    kind: str
    name: str
    config: Mapping[str, Any]
    group_id: int | None = None
    enabled: bool = True
    position: int = 0


def groups_of(conn: Connection, community_id: int) -> dict[int, str]:
    """The community's groups by id, with their names: what a rule's scope may be."""
    return {g.id: g.name for g in community_groups(conn, community_id)}


def _check_group(conn: Connection, community_id: int, group_id: int | None) -> None:
    if group_id is not None and group_id not in groups_of(conn, community_id):
        raise Invalid(f"group_id: no group {group_id} in this community")


def find_rule(conn: Connection, who: Principal, rule_id: int) -> rules.StoredRule:
    """The rule, in whichever community of the caller's workspace holds it (a workspace
    has a handful of communities)."""
    for ref in communities_of(conn, who.workspace_id):
        try:
            return rules.get_rule(conn, ref.community_id, rule_id)
        except rules.RuleNotFound:
            continue
    raise NotFound(f"no rule {rule_id}")


def audited(rule: rules.StoredRule) -> dict[str, Any]:
    """What the audit log keeps of a rule."""
    return {
        "kind": rule.kind,
        "name": rule.name,
        "group_id": rule.group_id,
        "enabled": rule.enabled,
        "position": rule.position,
        "config": dict(rule.config),
    }


def save(
    request: Request,
    who: Principal,
    community_id: int,
    draft: Draft,
    rule_id: int | None = None,
) -> rules.StoredRule:
    """Create (``rule_id`` None) or replace a rule, audited in the same transaction.
    Raises the family's RuleError, or UnknownKind, with nothing written."""
    web = web_of(request)
    now = web.app.clock.now()
    with web.write() as conn:
        before = rules.get_rule(conn, community_id, rule_id) if rule_id is not None else None
        if before is not None and before.kind != draft.kind:
            raise Invalid(f"rule {rule_id} is a {before.kind} rule; its kind cannot change")
        _check_group(conn, community_id, draft.group_id)
        saved = rules.save_rule(
            conn,
            community_id,
            draft.kind,
            draft.name,
            draft.config,
            now=now,
            group_id=draft.group_id,
            enabled=draft.enabled,
            position=draft.position,
            rule_id=rule_id,
        )
        after = rules.get_rule(conn, community_id, saved)
        action = "rule.create" if before is None else "rule.update"
        record(
            conn,
            actor_of(request, who),
            action,
            "rule",
            saved,
            before=audited(before) if before else None,
            after=audited(after),
            now=now,
        )
    return after


def draft_of(rule: rules.StoredRule) -> Draft:
    return Draft(rule.kind, rule.name, rule.config, rule.group_id, rule.enabled, rule.position)


def change(
    request: Request,
    who: Principal,
    rule: rules.StoredRule,
    *,
    enabled: bool | None = None,
    position: int | None = None,
) -> rules.StoredRule:
    """Turn a rule on or off, or move it; audited. Moving re-saves the rule, so its
    family checks it again."""
    draft = draft_of(rule)
    if position is not None and position != rule.position:
        draft = replace(draft, position=position)
        if enabled is not None:
            draft = replace(draft, enabled=enabled)
        return save(request, who, rule.community_id, draft, rule.id)
    if enabled is None or enabled == rule.enabled:
        return rule
    web = web_of(request)
    now = web.app.clock.now()
    with web.write() as conn:
        rules.set_enabled(conn, rule.community_id, rule.id, enabled, now=now)
        after = rules.get_rule(conn, rule.community_id, rule.id)
        record(
            conn,
            actor_of(request, who),
            "rule.update",
            "rule",
            rule.id,
            before={"enabled": rule.enabled},
            after={"enabled": enabled},
            now=now,
        )
    return after


def reorder(
    request: Request, who: Principal, community_id: int, ordered: list[rules.StoredRule]
) -> None:
    """Give ``ordered`` (one kind's rules, in their new order) positions 10, 20, 30…;
    only the rules whose position changes are re-saved, in one audited transaction."""
    web = web_of(request)
    now = web.app.clock.now()
    moved = {}
    with web.write() as conn:
        for n, rule in enumerate(ordered, start=1):
            position = min(n * 10, MAX_POSITION)
            if rule.position == position:
                continue
            current = rules.get_rule(conn, community_id, rule.id)
            rules.save_rule(
                conn,
                community_id,
                current.kind,
                current.name,
                current.config,
                now=now,
                group_id=current.group_id,
                enabled=current.enabled,
                position=position,
                rule_id=current.id,
            )
            moved[str(rule.id)] = (rule.position, position)
        if moved:
            record(
                conn,
                actor_of(request, who),
                "rule.reorder",
                "rule",
                ordered[0].kind if ordered else "",
                before={k: v[0] for k, v in moved.items()},
                after={k: v[1] for k, v in moved.items()},
                now=now,
            )


def remove(request: Request, who: Principal, rule: rules.StoredRule) -> rules.StoredRule:
    """Delete a rule (and what it remembered), audited; answers the rule as it was."""
    web = web_of(request)
    now = web.app.clock.now()
    with web.write() as conn:
        current = rules.get_rule(conn, rule.community_id, rule.id)
        rules.delete_rule(conn, rule.community_id, rule.id)
        record(
            conn,
            actor_of(request, who),
            "rule.delete",
            "rule",
            rule.id,
            before=audited(current),
            now=now,
        )
    return current
