"""The broadcast tables read and written, for the service, the scheduler and the report.

Everything the pure core needs from the database is gathered here — the community's
groups as ``GroupInfo`` (tags, member counts, zone and language), what each group has
already had per local day, when each WeCom group last had a mass message, the heatmap
for golden hours — and one run's plan is written here: outbox rows and delivery rows
together, both keyed by the plan's idempotency keys, so writing the same run twice adds
nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from shequn.features.broadcast.localtime import local_date
from shequn.features.broadcast.pacing import (
    DEFAULT_DAILY_CAP,
    DEFAULT_GOLDEN_HOUR,
    Conflict,
    Pacing,
    QuietHours,
)
from shequn.features.broadcast.plan import Delivery, of_run, plan_fanout
from shequn.features.broadcast.platforms import PROFILES
from shequn.features.broadcast.post import Post
from shequn.features.broadcast.problems import BroadcastError, Problem
from shequn.features.broadcast.targets import (
    Audience,
    GroupInfo,
    Kind,
    MemberInfo,
    parse_targets,
)
from shequn.features.outbox import Pending, enqueue
from shequn.kit.errors import ShequnError
from shequn.kit.timeutil import DEFAULT_TIMEZONE
from shequn.models import (
    BroadcastDelivery,
    BroadcastJob,
    Community,
    Group,
    GroupHour,
    GroupStatus,
    GroupTag,
    Identity,
    Member,
    Membership,
    MemberTag,
    OutboxRow,
    OutboxStatus,
    Tag,
)

_c = Community.__table__
_g = Group.__table__
_m = Membership.__table__
_gt = GroupTag.__table__
_t = Tag.__table__
_d = BroadcastDelivery.__table__
_j = BroadcastJob.__table__
_o = OutboxRow.__table__
_h = GroupHour.__table__
_i = Identity.__table__
_mem = Member.__table__
_mt = MemberTag.__table__

#: Outbox states of a copy that has gone or may still go: what counts against a cap.
LIVE = (
    OutboxStatus.PENDING.value,
    OutboxStatus.IN_FLIGHT.value,
    OutboxStatus.DONE.value,
    OutboxStatus.UNCERTAIN.value,
)
#: How far back the daily counts and WeCom's last mass message are read: a plan moves a
#: copy at most a day or two (quiet hours, golden hour), so older copies share no day.
LOOKBACK = timedelta(days=3)
#: The weeks of activity golden hours are read from.
HEAT_DAYS = 28


class BroadcastNotFound(ShequnError):
    """No such community, post or job (in that community)."""


class PostNotFound(BroadcastNotFound):
    pass


class JobNotFound(BroadcastNotFound):
    pass


class PostInUse(BroadcastError):
    """A post an active or paused job still sends."""


class JobClosed(BroadcastError):
    """A job that is done or cancelled: nothing about it can change any more."""


class WeComConflicts(BroadcastError):
    """WeCom groups that have had their one mass message on the day a post would reach
    them; ``conflicts`` name each group and when it next can."""

    def __init__(self, conflicts: Sequence[Conflict], problems: Sequence[Problem]) -> None:
        self.conflicts = tuple(conflicts)
        super().__init__(problems)


@dataclass(frozen=True, slots=True)
class CommunityInfo:
    id: int
    workspace_id: int
    name: str
    zone: str
    lang: str


def community_info(conn: Connection, community_id: int) -> CommunityInfo | None:
    row = conn.execute(
        select(_c.c.id, _c.c.workspace_id, _c.c.name, _c.c.timezone, _c.c.profile).where(
            _c.c.id == community_id
        )
    ).first()
    if row is None:
        return None
    profile = row.profile if isinstance(row.profile, Mapping) else {}
    lang = profile.get("lang")
    return CommunityInfo(
        row.id,
        row.workspace_id,
        row.name,
        row.timezone or DEFAULT_TIMEZONE,
        lang if isinstance(lang, str) and lang else "zh-CN",
    )


def group_infos(conn: Connection, community: CommunityInfo) -> list[GroupInfo]:
    """The community's active groups, by id, with their tags and seated members."""
    counts = (
        select(_m.c.group_id, func.count().label("n"))
        .where(_m.c.left_at.is_(None))
        .group_by(_m.c.group_id)
        .subquery()
    )
    rows = conn.execute(
        select(_g.c.id, _g.c.platform, _g.c.external_id, _g.c.name, counts.c.n)
        .select_from(_g.outerjoin(counts, counts.c.group_id == _g.c.id))
        .where(_g.c.community_id == community.id, _g.c.status == GroupStatus.ACTIVE.value)
        .order_by(_g.c.id)
    ).all()
    tags: dict[int, set[str]] = {}
    for group_id, name in conn.execute(
        select(_gt.c.group_id, _t.c.name)
        .select_from(_gt.join(_t, _t.c.id == _gt.c.tag_id).join(_g, _g.c.id == _gt.c.group_id))
        .where(_g.c.community_id == community.id)
    ):
        tags.setdefault(group_id, set()).add(name)
    return [
        GroupInfo(
            id=str(r.id),
            platform=r.platform,
            external_id=r.external_id,
            name=r.name or "",
            community=community.name,
            community_id=community.id,
            tags=frozenset(tags.get(r.id, ())),
            member_count=int(r.n or 0),
            zone=community.zone,
            lang=community.lang,
        )
        for r in rows
    ]


def segment_members(
    conn: Connection, community: CommunityInfo, spec: str
) -> dict[str, list[MemberInfo]]:
    """The members of each ``segment:NAME`` the spec names: the members carrying the
    workspace tag NAME who sit in one of the community's groups now. Each is reached on
    one account, one whose platform takes direct messages where they have such an
    account. A spec that cannot be read names no segment here (resolving reports it)."""
    try:
        names = sorted({s.value for s in parse_targets(spec) if s.kind is Kind.SEGMENT})
    except BroadcastError:
        return {}
    if not names:
        return {}
    seated = (
        select(_m.c.member_id)
        .join(_g, _g.c.id == _m.c.group_id)
        .where(_g.c.community_id == community.id, _m.c.left_at.is_(None))
    )
    rows = conn.execute(
        select(_t.c.name, _i.c.member_id, _i.c.platform, _i.c.external_id, _mem.c.display_name)
        .select_from(
            _t.join(_mt, _mt.c.tag_id == _t.c.id)
            .join(_i, _i.c.member_id == _mt.c.member_id)
            .join(_mem, _mem.c.id == _mt.c.member_id)
        )
        .where(
            _t.c.workspace_id == community.workspace_id,
            _t.c.name.in_(names),
            _mt.c.member_id.in_(seated),
        )
        .order_by(_t.c.name, _i.c.member_id, _i.c.id)
    ).all()
    chosen: dict[tuple[str, int], MemberInfo] = {}
    for tag, member_id, platform, user, name in rows:
        profile = PROFILES.get(platform)
        reachable = profile is not None and profile.direct_messages
        kept = chosen.get((tag, member_id))
        if kept is not None and (kept.supports_dm or not reachable):
            continue
        chosen[(tag, member_id)] = MemberInfo(
            member_id=member_id,
            platform=platform,
            user=user,
            name=name or "",
            community=community.name,
            community_id=community.id,
            supports_dm=reachable,
            zone=community.zone,
            lang=community.lang,
        )
    out: dict[str, list[MemberInfo]] = {}
    for (tag, _), info in chosen.items():
        out.setdefault(tag, []).append(info)
    return out


def pacing_of(data: Mapping[str, Any] | None) -> Pacing:
    """The core's ``Pacing`` from a job's stored (or submitted) pacing settings; raises
    ``PacingError`` naming what cannot work."""
    data = data or {}
    quiet = data.get("quiet") or ""
    window = data.get("window") or ""
    hours = QuietHours.window(window) if window else QuietHours.parse(quiet)
    return Pacing(
        daily_cap=data.get("daily_cap", DEFAULT_DAILY_CAP),
        quiet=hours,
        golden=bool(data.get("golden", False)),
        golden_fallback=data.get("golden_fallback", DEFAULT_GOLDEN_HOUR),
    )


def _live_copies(conn: Connection, community_id: int, since: datetime) -> list[Any]:
    return list(
        conn.execute(
            select(_d.c.recipient, _d.c.send_at, _d.c.outbox_key, _d.c.platform, _d.c.group_id)
            .select_from(
                _d.join(_j, _j.c.id == _d.c.job_id).join(
                    _o, _o.c.idempotency_key == _d.c.outbox_key
                )
            )
            .where(
                _j.c.community_id == community_id,
                _d.c.reason.is_(None),
                _d.c.send_at >= since,
                _o.c.status.in_(LIVE),
            )
        )
    )


def already_sent(
    conn: Connection, community_id: int, zone: str, post_id: str, run_at: datetime
) -> dict[tuple[str, date], int]:
    """Copies per (recipient key, local day) that went or may still go, leaving out this
    run's own (``plan.of_run``): planning a run again after a restart must not count its
    own queued copies against the cap."""
    counts: Counter[tuple[str, date]] = Counter()
    for row in _live_copies(conn, community_id, run_at - LOOKBACK):
        if not of_run(row.outbox_key, post_id, run_at):
            counts[(row.recipient, local_date(row.send_at, zone))] += 1
    return dict(counts)


def mass_sent(
    conn: Connection, community_id: int, post_id: str, run_at: datetime
) -> dict[str, datetime]:
    """For each group on a platform with a per-day mass-send limit, the latest copy it had
    or will have, this run's own left out."""
    limited = [name for name, p in PROFILES.items() if p.mass_sends_per_day is not None]
    latest: dict[str, datetime] = {}
    for row in _live_copies(conn, community_id, run_at - LOOKBACK):
        if row.platform not in limited or row.group_id is None:
            continue
        if of_run(row.outbox_key, post_id, run_at):
            continue
        key = str(row.group_id)
        if key not in latest or row.send_at > latest[key]:
            latest[key] = row.send_at
    return latest


def heat(
    conn: Connection, groups: Sequence[GroupInfo], today: date
) -> dict[str, list[tuple[int, int, int]]]:
    """Each group's (weekday, hour, messages) over the last four weeks: golden hours."""
    ids = [int(g.id) for g in groups]
    if not ids:
        return {}
    cells: dict[str, list[tuple[int, int, int]]] = {}
    for group_id, weekday, hour, n in conn.execute(
        select(_h.c.group_id, _h.c.weekday, _h.c.hour, func.sum(_h.c.messages))
        .where(_h.c.group_id.in_(ids), _h.c.day >= today - timedelta(days=HEAT_DAYS))
        .group_by(_h.c.group_id, _h.c.weekday, _h.c.hour)
    ):
        cells.setdefault(str(group_id), []).append((int(weekday), int(hour), int(n or 0)))
    return cells


def plan_run(
    conn: Connection,
    community: CommunityInfo,
    post: Post,
    audience: Audience,
    pacing: Pacing,
    run_at: datetime,
) -> list[Delivery]:
    """One run of ``post`` planned over ``audience`` with what the database knows: the
    copies each group already has (this run's own left out), WeCom's last mass messages
    and, for golden hours, the heatmap."""
    cells = heat(conn, audience.groups, local_date(run_at, community.zone)) if pacing.golden else {}
    return plan_fanout(
        post,
        audience.groups,
        run_at,
        pacing,
        already_sent(conn, community.id, community.zone, post.id, run_at),
        members=audience.members,
        heat=cells,
        mass_sent=mass_sent(conn, community.id, post.id, run_at),
    )


def _refusal_json(d: Delivery) -> dict[str, Any]:
    if d.refusal is None:
        return {}
    return {
        "reason": d.refusal.reason.value,
        "problems": [p.to_dict() for p in d.refusal.problems],
        "next_slot": d.refusal.next_slot.isoformat() if d.refusal.next_slot else None,
    }


def write_run(
    conn: Connection,
    community_id: int,
    job_id: int,
    deliveries: Sequence[Delivery],
    *,
    now: datetime,
    queue: bool = True,
) -> list[Pending]:
    """Record one run's deliveries (a row already there is kept) and return the copies
    to queue; with ``queue`` they are written to the outbox here too. The ticker leaves
    queueing to ``run_ticks``, which does it in the same transaction."""
    if not deliveries:
        return []
    rows = [
        {
            "job_id": job_id,
            "run_at": d.run_at,
            "recipient": d.recipient.key,
            "group_id": int(d.recipient.id) if isinstance(d.recipient, GroupInfo) else None,
            "member_id": None if isinstance(d.recipient, GroupInfo) else d.recipient.member_id,
            "platform": d.recipient.platform,
            "send_at": d.send_at,
            "outbox_key": d.key,
            "reason": d.refusal.reason.value if d.refusal is not None else None,
            "refusal": _refusal_json(d),
            "created_at": now,
        }
        for d in deliveries
    ]
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    conn.execute(insert(_d).on_conflict_do_nothing(index_elements=["outbox_key"]), rows)
    pending = [Pending(d.action(), community_id, not_before=d.send_at) for d in deliveries if d.ok]
    if queue:
        enqueue(conn, pending, now=now)
    return pending


def job_keys(conn: Connection, job_id: int) -> list[str]:
    """The outbox keys of a job's queued copies (refusals have no outbox row)."""
    return list(
        conn.execute(
            select(_d.c.outbox_key).where(_d.c.job_id == job_id, _d.c.reason.is_(None))
        ).scalars()
    )


def delivery_counts(conn: Connection, job_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """Per job: copies per outbox status, and ``refused``."""
    if not job_ids:
        return {}
    out: dict[int, dict[str, int]] = {}
    for job_id, refused, status, n in conn.execute(
        select(_d.c.job_id, _d.c.reason.is_(None), _o.c.status, func.count())
        .select_from(_d.outerjoin(_o, and_(_o.c.idempotency_key == _d.c.outbox_key)))
        .where(_d.c.job_id.in_(list(job_ids)))
        .group_by(_d.c.job_id, _d.c.reason.is_(None), _o.c.status)
    ):
        name = "refused" if not refused else (status or "missing")
        counts = out.setdefault(job_id, {})
        counts[name] = counts.get(name, 0) + int(n)
    return out
