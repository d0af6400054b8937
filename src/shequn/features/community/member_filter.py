"""What the member list can be narrowed by, checked and normalised. Pure: no database.

The same filter drives the dashboard's list, the API's list and the bulk
"tag every matching member" action, so all three always agree on who matches.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from shequn.core import Role

#: The escape character of every LIKE pattern built here.
LIKE_ESCAPE = "\\"
#: Longest search text taken; longer input is cut, not refused (a paste of a whole message).
MAX_QUERY = 200


class Activity(StrEnum):
    """Activity windows an operator asks about: recent speakers, the silent, the lurkers."""

    ACTIVE_7D = "active7"
    ACTIVE_30D = "active30"
    SILENT_30D = "silent30"
    NEVER = "never"


#: How far back each window looks (``NEVER`` looks at all time).
WINDOW = {
    Activity.ACTIVE_7D: timedelta(days=7),
    Activity.ACTIVE_30D: timedelta(days=30),
    Activity.SILENT_30D: timedelta(days=30),
}

ROLES = tuple(r.value for r in Role)


@dataclass(frozen=True, slots=True)
class MemberFilter:
    """Who to list. Every field narrows; all empty lists every active member.

    ``role`` is the member's role in ``group_id`` when a group is chosen, else
    in any group; both count only seats the member still holds. ``activity``
    looks at the chosen group only when one is chosen (a group's silent
    members are what a purge needs), else at every group.
    """

    q: str | None = None
    group_id: int | None = None
    tag_id: int | None = None
    role: str | None = None
    activity: Activity | None = None

    def __post_init__(self) -> None:
        if self.role is not None and self.role not in ROLES:
            raise ValueError(f"unknown role {self.role!r}: one of {', '.join(ROLES)}")

    @property
    def empty(self) -> bool:
        return not (self.q or self.group_id or self.tag_id or self.role or self.activity)

    def as_dict(self) -> dict[str, Any]:
        """The set fields only: what the audit log and links carry."""
        values = {
            "q": self.q,
            "group_id": self.group_id,
            "tag_id": self.tag_id,
            "role": self.role,
            "activity": self.activity.value if self.activity else None,
        }
        return {k: v for k, v in values.items() if v}


def make_filter(
    *,
    q: str | None = None,
    group_id: int | None = None,
    tag_id: int | None = None,
    role: str | None = None,
    activity: str | None = None,
) -> MemberFilter:
    """A filter from loosely typed input (a form, a query string): blanks mean "any".

    Raises ValueError for a role or activity that is not one of the choices.
    """
    text = search_text(q)
    return MemberFilter(
        q=text or None,
        group_id=group_id or None,
        tag_id=tag_id or None,
        role=role or None,
        activity=Activity(activity) if activity else None,
    )


def search_text(q: str | None) -> str:
    """The search text as matched: trimmed, cut to ``MAX_QUERY``, without NUL characters
    (which PostgreSQL cannot store or compare) or other control characters."""
    if not q:
        return ""
    kept = "".join(ch for ch in q if ch >= " " or ch == "\t")
    return kept.strip()[:MAX_QUERY]


def like_pattern(text: str) -> str:
    """A LIKE pattern matching ``text`` anywhere, with ``%``, ``_`` and the escape itself
    taken literally (use with ``escape=LIKE_ESCAPE``)."""
    escaped = (
        text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2)
        .replace("%", LIKE_ESCAPE + "%")
        .replace("_", LIKE_ESCAPE + "_")
    )
    return f"%{escaped}%"


def active_since(activity: Activity, now: datetime) -> datetime | None:
    """The instant a window starts at, or None for ``NEVER``."""
    span = WINDOW.get(activity)
    return now - span if span is not None else None


def has_control(text: str) -> bool:
    """Whether ``text`` holds a NUL or another C0 control (other than tab and newlines):
    names and notes with them are refused rather than stored."""
    return any(ch < " " and ch not in "\t\r\n" for ch in text)
