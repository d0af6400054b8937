"""Night mode and mute-all windows at work: MUTE_ALL when a window opens, UNMUTE_ALL when
the last window holding a group closes.

Each tick asks the pure ``window_actions`` which groups are inside an enabled window now
(in the community's time zone). What the windows did is remembered per window rule, in
``rule_state`` (key ``window:held``): the groups it holds muted, with the key of the mute
that did it. Deciding from that memory, rather than from the definitions alone, is what
makes the edges right when an operator changes things mid-window:

- a group inside a window and held by none is muted, once: the key names the window, its
  version and the instant the window opened, so repeated ticks, a second worker and a
  restart add nothing (and a window switched back on is a new version, so it mutes again);
- a held group no window covers any more is unmuted, once (the key is the mute's, plus
  ``:end``): at the window's end, and also when the window is disabled or edited away;
- a group muted by hand is never unmuted, because no window holds it.

A stored window that cannot be built is skipped and logged, and the groups it holds stay
as they are: it cannot be told whether they should open. Deleting a window row deletes its
memory with it (``rule_state`` cascades), so a window deleted while it holds a group leaves
the group muted: disable it first, or unmute by hand.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from shequn.core import Action, ActionType
from shequn.features.moderation import OneOffWindow, Target, Wording, window_actions
from shequn.features.moderation.store import bounded_key
from shequn.features.moderation.windows import Window
from shequn.features.outbox import Pending
from shequn.features.rules.kinds import WINDOW
from shequn.features.rules.service import StoredRule, rules_of
from shequn.kit.errors import ShequnError
from shequn.kit.timeutil import zone as zone_named
from shequn.models import Community, GroupRule, RuleState

log = logging.getLogger("shequn.features.moderation")

_rule = GroupRule.__table__
_state = RuleState.__table__
_community = Community.__table__
STATE_KEY = "window:held"

Held = dict[Target, dict[str, str]]  # target -> {"key": the mute's key, "since": instant}


def opened_at(window: Window, now: datetime, zone: Any) -> datetime:
    """When the occurrence of ``window`` that covers ``now`` began, in UTC."""
    if isinstance(window, OneOffWindow):
        return window.start.astimezone(UTC)
    local = now.astimezone(zone)
    day = local.date()
    if window.start > window.end and local.time() < window.end:
        day -= timedelta(days=1)
    return datetime.combine(day, window.start, tzinfo=zone).astimezone(UTC)


def _mute_key(row: StoredRule, target: Target, opened: datetime) -> str:
    version = int(row.updated_at.timestamp() * 1_000_000)
    stamp = opened.strftime("%Y%m%dT%H%M%SZ")
    return bounded_key(f"window:{row.id}:{version}:{target.platform}:{target.group}:{stamp}")


def _held(value: Mapping[str, Any] | None) -> Held:
    held: Held = {}
    for item in (value or {}).get("held", []):
        try:
            held[Target(str(item["platform"]), str(item["group"]))] = {
                "key": str(item["key"]),
                "since": str(item["since"]),
            }
        except (KeyError, TypeError):
            continue
    return held


def _stored(held: Held) -> dict[str, Any]:
    return {
        "held": [
            {"platform": t.platform, "group": t.group, **mark}
            for t, mark in sorted(held.items(), key=lambda i: (i[0].platform, i[0].group))
        ]
    }


class WindowTicker:
    """The ``runtime.ticks.Ticker`` of mute-all windows."""

    name = "moderation-windows"

    def __init__(self, *, lang: str = "zh-CN") -> None:
        self.lang = lang

    def tick(self, conn: Connection, now: datetime) -> Sequence[Pending]:
        communities = conn.execute(
            select(_rule.c.community_id).where(_rule.c.kind == WINDOW).distinct()
        ).scalars()
        pending: list[Pending] = []
        for community_id in sorted(communities):
            pending += self._community(conn, community_id, now)
        return pending

    def _community(self, conn: Connection, community_id: int, now: datetime) -> list[Pending]:
        zone_name = conn.execute(
            select(_community.c.timezone).where(_community.c.id == community_id)
        ).scalar_one()
        try:
            zone = zone_named(zone_name)
        except ShequnError as error:  # one community's bad zone must not stop the others
            log.warning("community %s: windows skipped: %s", community_id, error)
            return []
        rows = rules_of(conn, community_id, WINDOW)
        built: dict[str, tuple[StoredRule, Window]] = {}
        broken: set[int] = set()
        for row in rows:
            try:
                built[str(row.id)] = (row, row.build())
            except (ShequnError, ValueError, TypeError, KeyError) as error:
                log.warning("community %s: window %s skipped: %s", community_id, row.id, error)
                broken.add(row.id)
        states = {
            rule_id: _held(value)
            for rule_id, value in conn.execute(
                select(_state.c.rule_id, _state.c.value).where(
                    _state.c.rule_id.in_([r.id for r in rows]), _state.c.key == STATE_KEY
                )
            )
        }
        holder = {t: rid for rid, held in states.items() for t in held}
        windows = [w for _, w in built.values()]
        inside = {
            Target(a.platform or "", a.group or ""): a
            for a in window_actions(windows, zone, None, now, lang=self.lang)
        }
        changed: set[int] = set()
        out: list[Pending] = []
        for target, action in inside.items():
            if target in holder:
                continue
            row, window = built[str(action.params["window"])]
            key = _mute_key(row, target, opened_at(window, now, zone))
            out.append(Pending(action.with_key(key), community_id))
            states.setdefault(row.id, {})[target] = {"key": key, "since": now.isoformat()}
            changed.add(row.id)
        for target, rule_id in holder.items():
            if target in inside or rule_id in broken:
                continue
            mark = states[rule_id].pop(target)
            since = datetime.fromisoformat(mark["since"])
            action = self._unmute(windows, zone, since, now, target, built[str(rule_id)][0])
            out.append(Pending(action.with_key(bounded_key(f"{mark['key']}:end")), community_id))
            changed.add(rule_id)
        self._save(conn, {rid: states[rid] for rid in sorted(changed)}, now)
        return out

    def _unmute(
        self,
        windows: Sequence[Window],
        zone: Any,
        since: datetime,
        now: datetime,
        target: Target,
        holder: StoredRule,
    ) -> Action:
        """The UNMUTE_ALL as ``window_actions`` words a window's end; a window switched off
        or edited away does not end by its definition, so that is said instead."""
        for action in window_actions(windows, zone, since, now, lang=self.lang):
            if action.type is ActionType.UNMUTE_ALL and (action.platform, action.group) == (
                target.platform,
                target.group,
            ):
                return action
        said = Wording(f"“{holder.name}” no longer applies", f"「{holder.name}」已不再生效")
        return Action(
            ActionType.UNMUTE_ALL,
            platform=target.platform,
            group=target.group,
            reason=said.pick(self.lang),
            params={"window": str(holder.id)},
        )

    @staticmethod
    def _save(conn: Connection, states: Mapping[int, Held], now: datetime) -> None:
        if not states:
            return
        dialect_insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
        stmt = dialect_insert(_state)
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["rule_id", "key"],
                set_={"value": stmt.excluded.value, "updated_at": stmt.excluded.updated_at},
            ),
            [
                {"rule_id": rid, "key": STATE_KEY, "value": _stored(held), "updated_at": now}
                for rid, held in states.items()
            ],
        )


__all__ = ["STATE_KEY", "WindowTicker", "opened_at"]
