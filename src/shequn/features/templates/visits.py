"""Rotating-invite visits: their source labels, and which visit brought a member. Pure.

A visit is recorded when someone opens an invite's page; the join comes later, on the
platform, and platforms say little about where a newcomer came from. The rule that ties a
join to a visit, in order:

1. the join names a visit's token (an invite code the newcomer gave, or the ``state`` of
   the WeCom join way, which reach shequn as the join's ``invite_code`` or
   ``entry_source``; a ``{token}`` in a pool group's join link puts it there): that visit;
2. otherwise, the latest visit not yet matched that was sent to the joined group within
   the hour before the join (five minutes after it too, for clocks that disagree): the
   newcomer most likely followed the page that sent them there.

A member is matched once per group: coming back later is not a new arrival from a source.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote

from shequn.kit.errors import ShequnError

ATTRIBUTION_WINDOW = timedelta(hours=1)
CLOCK_SKEW = timedelta(minutes=5)
MAX_SOURCE = 64
MAX_INVITE_NAME = 120
#: An invite's address: lower-case letters, digits and dashes, 2 to 64 of them.
SLUG = re.compile(r"[a-z0-9][a-z0-9-]{1,63}")
#: Unicode categories never allowed in a source label: controls, invisible formatting
#: (bidi overrides among them), surrogates, private use, unassigned.
_HIDDEN = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})


class InviteError(ShequnError):
    """An invite or a visit that cannot be recorded; the message names the field."""


def clean_source(raw: str | None) -> str:
    """The source label of a visit (``?src=``): trimmed, NFKC-normalised, at most
    MAX_SOURCE characters, nothing hidden. Empty when none was given."""
    if raw is None:
        return ""
    text = unicodedata.normalize("NFKC", raw).strip()
    if len(text) > MAX_SOURCE:
        raise InviteError(f"src: at most {MAX_SOURCE} characters, not {len(text)}")
    hidden = sorted({f"U+{ord(c):04X}" for c in text if unicodedata.category(c) in _HIDDEN})
    if hidden:
        raise InviteError(
            f"src: invisible or control characters are not allowed ({', '.join(hidden)})"
        )
    return text


def check_slug(slug: str) -> str:
    if not isinstance(slug, str) or not SLUG.fullmatch(slug):
        raise InviteError(
            "slug: 2 to 64 lower-case letters, digits and dashes, starting with a letter or digit"
        )
    return slug


def check_invite_name(name: str) -> str:
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_INVITE_NAME:
        raise InviteError(f"name: 1 to {MAX_INVITE_NAME} characters")
    return name.strip()


def new_token() -> str:
    """A visit's token: 16 URL-safe characters, unguessable."""
    return secrets.token_urlsafe(12)


def join_link(url: str, token: str) -> str:
    """A pool group's join link for one visit: ``{token}`` becomes the visit's token."""
    return url.replace("{token}", quote(token, safe=""))


@dataclass(frozen=True, slots=True)
class VisitRef:
    id: int
    token: str
    group_id: int | None
    visited_at: datetime
    member_id: int | None = None


@dataclass(frozen=True, slots=True)
class JoinRef:
    """A member's join of a group, and the codes it carried (invite code, entry source)."""

    group_id: int
    member_id: int
    at: datetime
    codes: tuple[str, ...] = ()


def attribute(
    join: JoinRef, visits: Sequence[VisitRef], *, window: timedelta = ATTRIBUTION_WINDOW
) -> VisitRef | None:
    """The visit that brought this join, by the rule in the module's docstring."""
    if any(v.member_id == join.member_id and v.group_id == join.group_id for v in visits):
        return None
    open_ = [v for v in visits if v.member_id is None]
    for visit in open_:
        if visit.token in join.codes:
            return visit
    near = [
        v
        for v in open_
        if v.group_id == join.group_id and join.at - window <= v.visited_at <= join.at + CLOCK_SKEW
    ]
    return max(near, key=lambda v: (v.visited_at, v.id)) if near else None
