"""Admission work that falls due with time, queued by the bot runtime's ticks.

Every tick, over every community:

* the welcome batches whose window has closed are welcomed (one message for the batch);
* welcomes that are to be deleted, once the platform has sent them and said under which
  id, get their deletion queued for ``delete_after_s`` after the moment they were sent;
* lobby members who now meet every rule of their lobby — their days are up, their order
  arrived — are promoted: invited to the main group, congratulated, removed from the lobby
  later;
* members whose name card still does not fit are reminded again, once per period.

Each action's key names its cause and the moment it fell due (a batch by when it opened, a
promotion by the member's stay, a reminder by when it became due, a deletion by the
welcome's key), and what was done is recorded in ``rule_state`` in the same transaction, so
repeated ticks and a tick replayed after a crash add nothing.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta

from sqlalchemy import Connection, select

from shequn.core import ActionType
from shequn.features.admission.arrivals import (
    CardHolder,
    card_check,
    card_due_at,
    promote,
    welcome_flush,
)
from shequn.features.admission.store import Loaded, Slot, States, load, purchases_of, seats_of
from shequn.features.admission.welcome import WelcomeConfig, deletion
from shequn.features.outbox import Pending
from shequn.features.rules.kinds import LOBBY, NAMECARD, WELCOME
from shequn.features.rules.service import StoredRule
from shequn.models import GroupRule, OutboxRow, OutboxStatus

_rule = GroupRule.__table__
_outbox = OutboxRow.__table__
#: Outbox states after which a welcome will never be sent: nothing left to delete.
_NEVER_SENT = frozenset(
    {OutboxStatus.FAILED.value, OutboxStatus.CANCELLED.value, OutboxStatus.UNCERTAIN.value}
)


class AdmissionTicker:
    name = "admission"

    def __init__(
        self,
        *,
        lang: str = "zh-CN",
        capabilities: Mapping[str, Collection[ActionType]] | None = None,
    ) -> None:
        self.lang = lang
        self.capabilities = {p: frozenset(c) for p, c in (capabilities or {}).items()}
        self._built: dict[int, tuple[datetime, Loaded]] = {}

    def _rules(self, conn: Connection) -> dict[int, Loaded]:
        """Every welcome, lobby and card rule, built once per version. Switched-off rules
        are read too: their waiting batches are dropped, their sent welcomes still deleted."""
        rules: dict[int, Loaded] = {}
        query = select(_rule).where(_rule.c.kind.in_((WELCOME, LOBBY, NAMECARD)))
        for row in conn.execute(query):
            kept = self._built.get(row.id)
            if kept is None or kept[0] != row.updated_at:
                stored = StoredRule(
                    id=row.id,
                    community_id=row.community_id,
                    group_id=row.group_id,
                    kind=row.kind,
                    name=row.name,
                    position=row.position,
                    enabled=row.enabled,
                    config=dict(row.config),
                    updated_at=row.updated_at,
                )
                kept = (row.updated_at, load(stored))
                self._built[row.id] = kept
            rules[row.id] = kept[1]
        self._built = {k: v for k, v in self._built.items() if k in rules}
        return rules

    def tick(self, conn: Connection, now: datetime) -> Sequence[Pending]:
        rules = self._rules(conn)
        of = {
            kind: [r.id for r in rules.values() if r.stored.kind == kind]
            for kind in (WELCOME, LOBBY, NAMECARD)
        }
        states = States()
        pending: list[Pending] = []
        pending += self._welcomes(states, rules, states.scan(conn, of[WELCOME], "queue:"), now)
        pending += self._deletions(conn, states, rules, states.scan(conn, of[WELCOME], "sent:"))
        pending += self._lobbies(conn, states, rules, states.scan(conn, of[LOBBY], "member:"), now)
        pending += self._cards(conn, states, rules, states.scan(conn, of[NAMECARD], "card:"), now)
        states.save(conn, now)
        return pending

    def _welcomes(
        self, states: States, rules: dict[int, Loaded], slots: list[Slot], now: datetime
    ) -> list[Pending]:
        out = []
        for slot in slots:
            rule = rules[slot[0]]
            if not rule.stored.enabled:
                states.drop(slot)
                continue
            if rule.logic is None:
                continue
            cid = rule.stored.community_id
            out += [Pending(a, cid) for a in welcome_flush(states, rule, slot, now, self.lang)]
        return out

    def _deletions(
        self, conn: Connection, states: States, rules: dict[int, Loaded], slots: list[Slot]
    ) -> list[Pending]:
        keys = {slot: str((states.get(slot) or {}).get("key", "")) for slot in slots}
        rows = {}
        wanted = sorted(set(keys.values()))
        for start in range(0, len(wanted), 500):
            for row in conn.execute(
                select(
                    _outbox.c.idempotency_key,
                    _outbox.c.status,
                    _outbox.c.result,
                    _outbox.c.done_at,
                    _outbox.c.action,
                ).where(_outbox.c.idempotency_key.in_(wanted[start : start + 500]))
            ):
                rows[row.idempotency_key] = row
        out = []
        for slot, key in keys.items():
            row, rule = rows.get(key), rules[slot[0]]
            if row is not None and row.status not in (*_NEVER_SENT, OutboxStatus.DONE.value):
                continue  # not sent yet: look again next tick
            states.drop(slot)
            config = rule.logic
            message_id = (row.result or {}).get("platform_id") if row is not None else None
            if row is None or row.status != OutboxStatus.DONE.value or not message_id:
                continue
            if not isinstance(config, WelcomeConfig) or config.delete_after_s is None:
                continue
            action = deletion(
                config,
                platform=row.action.get("platform", ""),
                group=row.action.get("group", ""),
                message_id=str(message_id),
            )
            if action is not None and row.done_at is not None:
                due = row.done_at + timedelta(seconds=config.delete_after_s)
                out.append(
                    Pending(action.with_key(f"{key}:delete"), rule.stored.community_id, None, due)
                )
        return out

    def _lobbies(
        self,
        conn: Connection,
        states: States,
        rules: dict[int, Loaded],
        slots: list[Slot],
        now: datetime,
    ) -> list[Pending]:
        live = [s for s in slots if rules[s[0]].stored.enabled and rules[s[0]].logic is not None]
        buyers = {
            int(mid)
            for s in live
            if rules[s[0]].logic.fee is not None
            and (mid := (states.get(s) or {}).get("member_id")) is not None
        }
        bought = purchases_of(conn, buyers) if buyers else {}
        out = []
        for slot in live:
            rule, entry = rules[slot[0]], states.get(slot) or {}
            mid = entry.get("member_id")
            purchases = bought.get(int(mid)) if mid is not None else None
            actions = promote(states, rule, slot, purchases, now, self.lang)
            out += [Pending(a, rule.stored.community_id) for a in actions]
        return out

    def _cards(
        self,
        conn: Connection,
        states: States,
        rules: dict[int, Loaded],
        slots: list[Slot],
        now: datetime,
    ) -> list[Pending]:
        due: list[tuple[Slot, dict, datetime]] = []
        for slot in slots:
            entry = states.get(slot) or {}
            at = card_due_at(entry) if entry else None
            rule = rules[slot[0]]
            if rule.stored.enabled and rule.logic is not None and at is not None and at <= now:
                due.append((slot, entry, at))
        seats = seats_of(conn, [(int(e["group_id"]), int(e["member_id"])) for _, e, _ in due])
        out = []
        for slot, entry, at in due:
            rule = rules[slot[0]]
            gid, mid = int(entry["group_id"]), int(entry["member_id"])
            seat = seats.get((gid, mid))
            if seat is None or not seat.present:
                states.drop(slot)
                continue
            holder = CardHolder(
                group_id=gid,
                member_id=mid,
                platform=entry["platform"],
                group=entry["group"],
                user=entry["user"],
                name=entry.get("name") or "",
                number=seat.number,
                card=seat.card,
            )
            actions = card_check(
                states,
                rule,
                holder,
                now,
                can_set_card=ActionType.SET_CARD in self.capabilities.get(holder.platform, ()),
                key=f"namecard:{rule.id}:{gid}:{mid}:{at.isoformat()}",
                lang=self.lang,
            )
            out += [Pending(a, rule.stored.community_id) for a in actions]
        return out
