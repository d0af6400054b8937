"""What kind of task a NOTIFY_OPERATOR action makes, read from the params its feature set.

Features do not name a task kind: they set params for their own needs (an admission hold
says ``hold``, a broken rule ``rule_id``, the group pool ``pool_place`` and, for work only
a person can do, ``task``). Reading the kind here keeps the features unaware of the inbox.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

ADMISSION_HOLD = "admission_hold"
BROKEN_RULE = "broken_rule"
CAPACITY = "capacity"
CREATE_GROUP = "create_group"
NOTICE = "notice"

#: The kinds shequn's own features give; the inbox can filter and label these.
KNOWN = (ADMISSION_HOLD, BROKEN_RULE, CAPACITY, CREATE_GROUP, NOTICE)
#: The longest kind a task row stores.
MAX_KIND = 32


def _named(value: Any) -> str | None:
    """A feature's own ``task`` name, if it is a short lowercase identifier."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    fits = all(c.isascii() and (c.isalnum() or c == "_") for c in value)
    return value.lower() if fits and 0 < len(value) <= MAX_KIND else None


def task_kind(params: Mapping[str, Any]) -> str:
    """The task kind for an operator notice with these params; ``notice`` when nothing
    more specific is said."""
    named = _named(params.get("task"))
    if named is not None:
        return named
    if params.get("hold") == "join_request":
        return ADMISSION_HOLD
    if "rule_id" in params:
        return BROKEN_RULE
    if "pool_place" in params:
        return CAPACITY
    return NOTICE
