"""One run of a broadcast, planned: for every recipient, when its copy goes and what it
says — or why it does not go.

``plan_fanout`` is pure: the caller passes the post, the resolved recipients, the run's
instant, the pacing and what each recipient has already had, and writes the result to the
outbox in one transaction. Each delivery's idempotency key is derived from the post, the
recipient and the *run's* instant (never from ``send_at``, which depends on heatmaps and
quiet hours that may change between two attempts), so a restart in the middle of a fan-out
plans the same keys again and the outbox, which skips keys it holds, leaves every group
with exactly one copy.

A recipient is refused, with the reason, when its platform has no profile or cannot
send direct messages, when the post cannot be shown there (too long), when it has had its
daily cap of broadcasts on that local day, or when WeCom's one-mass-message-a-day rule
would refuse it; the others are unaffected.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from shequn.core import Action, ActionType
from shequn.features.broadcast.content import Rendered, render_checked, variable_values
from shequn.features.broadcast.localtime import local_date, require_aware, start_of_day
from shequn.features.broadcast.pacing import (
    HeatCells,
    Pacing,
    at_hour_from,
    golden_hour,
    under_cap,
    wecom_conflicts,
)
from shequn.features.broadcast.platforms import PlatformProfile, profile_for
from shequn.features.broadcast.post import Post, check_post
from shequn.features.broadcast.problems import Problem, UnknownPlatform
from shequn.features.broadcast.targets import GroupInfo, MemberInfo
from shequn.kit.wording import echo

Recipient = GroupInfo | MemberInfo
KEY_PREFIX = "broadcast"
#: The outbox's idempotency key column holds this many characters.
MAX_KEY_LENGTH = 255


class Reason(StrEnum):
    UNKNOWN_PLATFORM = "unknown_platform"
    NO_DIRECT_MESSAGES = "no_direct_messages"
    UNREACHABLE = "unreachable"
    RENDER = "render"
    DAILY_CAP = "daily_cap"
    PLATFORM_DAILY_LIMIT = "platform_daily_limit"


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a recipient gets no copy; ``next_slot`` is when it could, where that is known."""

    reason: Reason
    problems: tuple[Problem, ...]
    next_slot: datetime | None = None

    def lines(self, lang: str) -> list[str]:
        return [p.text(lang) for p in self.problems]


@dataclass(frozen=True, slots=True)
class Delivery:
    """One recipient's copy of one run: ``send_at`` (UTC) and ``day`` (the recipient's
    local day it counts against) are set when it goes, ``refusal`` when it does not."""

    post_id: str
    recipient: Recipient
    key: str
    run_at: datetime
    send_at: datetime | None = None
    day: date | None = None
    rendered: Rendered | None = None
    refusal: Refusal | None = None

    @property
    def ok(self) -> bool:
        return self.refusal is None

    def action(self) -> Action:
        """The outbox action of a delivery that goes (hold it until ``send_at``)."""
        if self.refusal is not None or self.rendered is None:
            raise ValueError(f"delivery {self.key} was refused ({self.refusal}); it has no action")
        reason = f"broadcast {self.post_id}"
        target = self.recipient
        if isinstance(target, GroupInfo):
            return Action(
                ActionType.SEND_MESSAGE,
                platform=target.platform,
                group=target.external_id,
                message=self.rendered.message,
                reason=reason,
                key=self.key,
            )
        return Action(
            ActionType.DIRECT_MESSAGE,
            platform=target.platform,
            user=target.user,
            member_id=target.member_id,
            message=self.rendered.message,
            reason=reason,
            key=self.key,
        )


def delivery_key(post_id: str, recipient_key: str, run_at: datetime) -> str:
    """``broadcast:<post>:<g12|m34>:<run instant, UTC, to the second>``: the same run of the
    same post to the same recipient always has the same key."""
    run = require_aware(run_at, "run_at")
    key = f"{KEY_PREFIX}:{post_id}:{recipient_key}:{run:%Y%m%dT%H%M%SZ}"
    if len(key) > MAX_KEY_LENGTH:
        raise ValueError(f"idempotency key longer than {MAX_KEY_LENGTH} characters: {key[:80]}…")
    return key


def of_run(key: str, post_id: str, run_at: datetime) -> bool:
    """Whether an outbox key belongs to this run of this post: when a fan-out is planned
    again after a restart, the run's own queued copies must not count against the daily
    cap (they are its copies, found again by their keys), so the caller leaves them out
    of ``already_sent``."""
    stamp = f"{require_aware(run_at, 'run_at'):%Y%m%dT%H%M%SZ}"
    return key.startswith(f"{KEY_PREFIX}:{post_id}:") and key.endswith(f":{stamp}")


def tally(deliveries: Iterable[Delivery]) -> dict[tuple[str, date], int]:
    """How many copies each recipient gets per local day: what the next plan's
    ``already_sent`` adds."""
    counts: dict[tuple[str, date], int] = {}
    for d in deliveries:
        if d.ok and d.day is not None:
            counts[(d.recipient.key, d.day)] = counts.get((d.recipient.key, d.day), 0) + 1
    return counts


def _label(r: Recipient) -> str:
    """How a refusal names its recipient: by id, and by name where it has one."""
    kind, ident = ("group", r.id) if isinstance(r, GroupInfo) else ("member", str(r.member_id))
    return f"{kind} {ident} “{echo(r.name)}”" if r.name else f"{kind} {ident}"


class _Planner:
    def __init__(
        self,
        post: Post,
        run_at: datetime,
        pacing: Pacing,
        already_sent: Mapping[tuple[str, date], int],
        heat: Mapping[str, HeatCells],
        mass_sent: Mapping[str, datetime],
        profiles: Mapping[str, PlatformProfile] | None,
    ) -> None:
        self.post = post
        self.run_at = run_at
        self.pacing = pacing
        self.counts = dict(already_sent)
        self.heat = heat
        self.mass_sent = mass_sent
        self.profiles = profiles

    def refuse(
        self,
        r: Recipient,
        key: str,
        reason: Reason,
        problems: Sequence[Problem],
        *,
        next_slot: datetime | None = None,
        timing: tuple[datetime, date, Rendered] | None = None,
    ) -> Delivery:
        send_at, day, rendered = timing if timing is not None else (None, None, None)
        refusal = Refusal(reason, tuple(problems), next_slot)
        return Delivery(self.post.id, r, key, self.run_at, send_at, day, rendered, refusal)

    def send_at(self, r: Recipient) -> datetime:
        moment = self.run_at
        if self.pacing.golden and isinstance(r, GroupInfo):
            hour = golden_hour(
                self.heat.get(r.id, ()),
                weekday=local_date(self.run_at, r.zone).weekday(),
                fallback=self.pacing.golden_fallback,
                quiet=self.pacing.quiet,
            )
            moment = at_hour_from(moment, hour, r.zone)
        return self.pacing.quiet.next_open(moment, r.zone)

    def free_day(self, r: Recipient, day: date) -> datetime:
        """The first open moment of the first local day after ``day`` under the cap."""
        free = day + timedelta(days=1)
        while not under_cap(self.counts.get((r.key, free), 0), self.pacing.daily_cap):
            free += timedelta(days=1)
        return self.pacing.quiet.next_open(start_of_day(free, r.zone), r.zone)

    def plan(self, r: Recipient) -> Delivery:
        key = delivery_key(self.post.id, r.key, self.run_at)
        where = _label(r)
        try:
            profile = profile_for(r.platform, self.profiles)
        except UnknownPlatform as exc:
            return self.refuse(r, key, Reason.UNKNOWN_PLATFORM, exc.problems)
        if isinstance(r, MemberInfo):
            if not profile.direct_messages:
                return self.refuse(
                    r,
                    key,
                    Reason.NO_DIRECT_MESSAGES,
                    [
                        Problem(
                            where,
                            f"{profile.name} lets the bot send no direct messages",
                            f"{profile.name} 不允许机器人发私信",
                        )
                    ],
                )
            if not r.supports_dm:
                return self.refuse(
                    r,
                    key,
                    Reason.UNREACHABLE,
                    [
                        Problem(
                            where,
                            "cannot be messaged directly by the bot",
                            "机器人无法给该成员发私信",
                        )
                    ],
                )
        send_at = self.send_at(r)
        day = local_date(send_at, r.zone)
        if isinstance(r, GroupInfo):
            values = variable_values(
                day=day,
                lang=r.lang,
                group=r.name,
                community=r.community,
                member_count=r.member_count,
            )
        else:  # a direct message has no group, so {group} and {member_count} are flagged
            values = variable_values(day=day, lang=r.lang, community=r.community)
        rendered = render_checked(self.post, profile, values, r.lang)
        timing = (send_at, day, rendered)
        if not rendered.ok:
            return self.refuse(r, key, Reason.RENDER, rendered.blockers, timing=timing)
        if not under_cap(self.counts.get((r.key, day), 0), self.pacing.daily_cap):
            cap = self.pacing.daily_cap
            return self.refuse(
                r,
                key,
                Reason.DAILY_CAP,
                [
                    Problem(
                        where,
                        f"has reached its daily cap of {cap} broadcasts on {day.isoformat()}",
                        f"{day.isoformat()} 已达每日 {cap} 条群发的上限",
                    )
                ],
                next_slot=self.free_day(r, day),
                timing=timing,
            )
        if isinstance(r, GroupInfo) and profile.mass_sends_per_day is not None:
            last = self.mass_sent.get(r.id)
            conflicts = wecom_conflicts(
                [(r.id, send_at)],
                {r.id: last} if last is not None else {},
                per_day=profile.mass_sends_per_day,
                zone=profile.day_zone,
            )
            if conflicts:
                slot = self.pacing.quiet.next_open(conflicts[0].next_slot, r.zone)
                return self.refuse(
                    r,
                    key,
                    Reason.PLATFORM_DAILY_LIMIT,
                    [conflicts[0].problem()],
                    next_slot=slot,
                    timing=timing,
                )
        self.counts[(r.key, day)] = self.counts.get((r.key, day), 0) + 1
        return Delivery(self.post.id, r, key, self.run_at, send_at, day, rendered)


def plan_fanout(
    post: Post,
    groups: Sequence[GroupInfo],
    run_at: datetime,
    pacing: Pacing,
    already_sent: Mapping[tuple[str, date], int],
    *,
    members: Sequence[MemberInfo] = (),
    heat: Mapping[str, HeatCells] | None = None,
    mass_sent: Mapping[str, datetime] | None = None,
    profiles: Mapping[str, PlatformProfile] | None = None,
) -> list[Delivery]:
    """A delivery (or a refusal) per recipient of one run of ``post``, groups then members,
    each recipient once.

    ``already_sent`` counts broadcasts per (recipient key, local day) — ``GroupInfo.key`` /
    ``MemberInfo.key`` — including queued ones but not this run's own (``of_run``);
    ``heat`` is each group's heatmap cells by group id (for golden hours); ``mass_sent``
    the instant each platform-limited (WeCom) group last had a mass message. Raises
    ``PostError`` when the post itself is unsound.
    """
    check_post(post)
    planner = _Planner(
        post,
        require_aware(run_at, "run_at"),
        pacing,
        already_sent,
        heat or {},
        mass_sent or {},
        profiles,
    )
    seen: set[str] = set()
    deliveries: list[Delivery] = []
    for recipient in (*groups, *members):
        if recipient.key in seen:
            continue
        seen.add(recipient.key)
        deliveries.append(planner.plan(recipient))
    return deliveries
