"""Changing a community's name and time zone, and the recount a new zone needs.

Day-based rollups are bucketed in the community's zone, so after the zone
changes they must be counted again from the event log: the change queues a
``recount`` job in the same transaction, and the web process's runner carries
it out (``features.analytics.rollup.rebuild``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from zoneinfo import available_timezones

from sqlalchemy import Connection, select, update

from shequn.features.community.setup import set_timezone
from shequn.features.imports import service
from shequn.features.imports.logic import RECOUNT, RunnerId
from shequn.features.imports.service import JobView
from shequn.kit.errors import ShequnError
from shequn.models import Community, ImportStatus

_c = Community.__table__
MAX_NAME = 200
#: Offered first in the time-zone picker; any IANA zone may be typed.
COMMON_ZONES = (
    "Asia/Shanghai",
    "Asia/Hong_Kong",
    "Asia/Taipei",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Asia/Seoul",
    "Asia/Kolkata",
    "Asia/Dubai",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Paris",
    "Europe/Moscow",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/Sao_Paulo",
    "Australia/Sydney",
    "Pacific/Auckland",
    "UTC",
)


class SettingsError(ShequnError):
    """A community setting that cannot be taken (the message says why)."""


class InvalidSetting(SettingsError):
    """The value itself is malformed: an unknown zone, an empty name."""


@dataclass(frozen=True, slots=True)
class CommunitySettings:
    id: int
    name: str
    timezone: str


@lru_cache(maxsize=1)
def known_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def check_zone(name: str) -> str:
    """``name`` if it is an IANA time zone this system knows, else InvalidSetting."""
    if name not in known_zones():
        raise InvalidSetting(f"unknown time zone {name[:80]!r}")
    return name


def get_settings(conn: Connection, workspace_id: int, community_id: int) -> CommunitySettings:
    row = conn.execute(
        select(_c.c.id, _c.c.name, _c.c.timezone).where(
            _c.c.id == community_id, _c.c.workspace_id == workspace_id
        )
    ).first()
    if row is None:
        raise LookupError(f"community {community_id} is not in this workspace")
    return CommunitySettings(row.id, row.name, row.timezone)


def change_settings(
    conn: Connection,
    workspace_id: int,
    community_id: int,
    *,
    name: str | None = None,
    timezone: str | None = None,
) -> tuple[CommunitySettings, CommunitySettings]:
    """Rename the community and/or move it to another zone; returns (before, after)."""
    before = get_settings(conn, workspace_id, community_id)
    if name is not None:
        name = name.strip()
        if not name or len(name) > MAX_NAME:
            raise InvalidSetting(f"a community name has 1 to {MAX_NAME} characters")
        taken = conn.execute(
            select(_c.c.id).where(
                _c.c.workspace_id == workspace_id, _c.c.name == name, _c.c.id != community_id
            )
        ).first()
        if taken is not None:
            raise SettingsError("another community of this workspace has that name")
        if name != before.name:
            conn.execute(update(_c).where(_c.c.id == community_id).values(name=name))
    if timezone is not None and timezone != before.timezone:
        set_timezone(conn, community_id, check_zone(timezone))
    return before, get_settings(conn, workspace_id, community_id)


def queue_recount(
    conn: Connection,
    workspace_id: int,
    community_id: int,
    *,
    operator_id: int | None,
    runner: RunnerId,
    now: datetime,
) -> tuple[JobView, bool]:
    """A queued recount of the community's rollups, and whether it is new (then the
    caller submits it to ``runner``). A recount still waiting is reused: it will
    count in whatever zone the community has when it starts."""
    waiting = service.latest_recount(conn, community_id)
    if waiting is not None and waiting.status == ImportStatus.QUEUED.value:
        return waiting, False
    return service.create_job(
        conn,
        workspace_id=workspace_id,
        community_id=community_id,
        operator_id=operator_id,
        kind=RECOUNT,
        filename="",
        path="",
        size_bytes=0,
        options={},
        runner=runner,
        now=now,
    ), True
