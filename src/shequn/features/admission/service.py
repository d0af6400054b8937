"""Invite codes as operators manage them: handed out in batches, listed, withdrawn, counted.

A batch of codes shares its terms — the group it admits to (or any group of the community),
the source it is handed out through (a poster, a newsletter, a partner), how many people may
use each code and until when. Codes come from the pure ``generate`` over an alphabet without
look-alike characters, drawn from the operating system's random source: a code is a key to
the group, so it must not be guessable from the codes handed out before it. Every use is
counted on the code's row, so arrivals per source are one query away.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, insert, select, update

from shequn.features.admission import AdmissionError, Problems, RuleError, visible
from shequn.features.admission.codes import MAX_BATCH, MAX_CHANNEL, CodesState, generate, issue
from shequn.models import Group, InviteCode

_code = InviteCode.__table__
_group = Group.__table__

#: The most rows one page of ``code_rows`` returns.
MAX_PAGE = 500


class CodeError(RuleError):
    """Invite codes that cannot be made on these terms; names every problem at once."""


class CodeNotFound(AdmissionError):
    """No invite code with that id in that community."""


@dataclass(frozen=True, slots=True)
class CodeRow:
    """One invite code as the dashboard lists it."""

    id: int
    code: str
    group_id: int | None
    source: str
    max_uses: int | None
    uses: int
    expires_at: datetime | None
    disabled: bool
    created_at: datetime


def _check_terms(
    conn: Connection,
    community_id: int,
    *,
    group_id: int | None,
    source: str,
    count: object,
    max_uses: object,
    expires_at: datetime | None,
    now: datetime,
) -> None:
    problems = Problems("invite codes")
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_BATCH:
        problems.add(
            "count",
            f"must be a whole number from 1 to {MAX_BATCH}",
            f"必须是 1 到 {MAX_BATCH} 的整数",
        )
    if len(source) > MAX_CHANNEL:
        problems.add(
            "source", f"is longer than {MAX_CHANNEL} characters", f"超过 {MAX_CHANNEL} 个字符"
        )
    elif visible(source, MAX_CHANNEL) != source:
        problems.add(
            "source", "holds control characters or repeated spaces", "包含控制字符或连续空格"
        )
    if max_uses is not None and (
        isinstance(max_uses, bool) or not isinstance(max_uses, int) or max_uses < 1
    ):
        problems.add(
            "max_uses",
            "must be at least 1 (or empty for unlimited)",
            "至少为 1（留空表示不限次数）",
        )
    problems.aware("expires_at", expires_at)
    if expires_at is not None and expires_at.utcoffset() is not None and expires_at <= now:
        problems.add("expires_at", "is not in the future", "不是将来的时间")
    if group_id is not None:
        found = conn.execute(
            select(_group.c.id).where(
                _group.c.id == group_id, _group.c.community_id == community_id
            )
        ).first()
        if found is None:
            problems.add(
                "group_id",
                f"{group_id} is not a group of this community",
                f"{group_id} 不是本社群的群",
            )
    if problems.found:
        raise CodeError(problems.found)


def create_codes(
    conn: Connection,
    community_id: int,
    *,
    group_id: int | None,
    source: str,
    count: int,
    max_uses: int | None,
    expires_at: datetime | None,
    now: datetime,
) -> list[str]:
    """Make ``count`` new codes on the same terms and store them; returns the codes.

    ``group_id`` None admits to any group of the community; ``source`` names where the
    codes are handed out ("" for nowhere in particular); ``max_uses`` None is unlimited.
    Raises ``CodeError`` naming every bad term, and stores nothing then."""
    source = (source or "").strip()
    _check_terms(
        conn,
        community_id,
        group_id=group_id,
        source=source,
        count=count,
        max_uses=max_uses,
        expires_at=expires_at,
        now=now,
    )
    taken = conn.execute(select(_code.c.code).where(_code.c.community_id == community_id))
    made = generate(random.SystemRandom(), count, taken=taken.scalars().all())
    try:
        batch = issue(
            CodesState(),
            made,
            now=now,
            expires_at=expires_at,
            max_uses=max_uses,
            channel=source or None,
        )
    except RuleError as error:
        raise CodeError(error.problems) from None
    conn.execute(
        insert(_code),
        [
            {
                "community_id": community_id,
                "group_id": group_id,
                "code": code.code,
                "source": source,
                "max_uses": code.max_uses,
                "uses": 0,
                "expires_at": code.expires_at,
                "disabled": False,
                "created_at": now,
            }
            for code in batch.codes
        ],
    )
    return [code.code for code in batch.codes]


def disable_code(conn: Connection, community_id: int, code_id: int) -> None:
    """Withdraw a code: it refuses everyone from now on, its count stays as it was."""
    done = conn.execute(
        update(_code)
        .where(_code.c.id == code_id, _code.c.community_id == community_id)
        .values(disabled=True)
    )
    if done.rowcount == 0:
        raise CodeNotFound(f"no invite code {code_id} in this community")


def code_rows(
    conn: Connection,
    community_id: int,
    *,
    group_id: int | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[CodeRow]:
    """The community's codes, newest first; ``before_id`` pages on from the last row seen,
    ``group_id`` keeps the codes of that group only."""
    query = select(_code).where(_code.c.community_id == community_id)
    if group_id is not None:
        query = query.where(_code.c.group_id == group_id)
    if before_id is not None:
        query = query.where(_code.c.id < before_id)
    query = query.order_by(_code.c.id.desc()).limit(max(1, min(limit, MAX_PAGE)))
    return [
        CodeRow(
            id=row.id,
            code=row.code,
            group_id=row.group_id,
            source=row.source,
            max_uses=row.max_uses,
            uses=row.uses,
            expires_at=row.expires_at,
            disabled=row.disabled,
            created_at=row.created_at,
        )
        for row in conn.execute(query)
    ]


def uses_by_source(conn: Connection, community_id: int) -> dict[str, int]:
    """How many people each source brought in through its codes ("" for codes handed out
    without a source); a source whose codes nobody used yet counts 0."""
    rows = conn.execute(
        select(_code.c.source, func.coalesce(func.sum(_code.c.uses), 0))
        .where(_code.c.community_id == community_id)
        .group_by(_code.c.source)
        .order_by(_code.c.source)
    )
    return {source: int(total) for source, total in rows}
