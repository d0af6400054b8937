"""What the admission processor and ticker read and write: rules, rule state, seats, orders.

The rules of the four admission kinds are read once per change (a small query says
whether anything changed) and each is built by its family's logic; a stored rule that no
longer builds is kept with its error, so that the groups it governs can be told about it
instead of the batch failing. What the rules remember between events — a group's welcome
queue, a lobby member's stay, a name card's reminders, an applicant's redeemed code — lives
in ``rule_state``, one JSON value per rule and key, read and written here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, select, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from shequn.core import Event, EventType
from shequn.features.admission import Problem, Wording, rule_label
from shequn.features.admission import RuleError as AdmissionRuleError
from shequn.features.admission.join_request import Purchase
from shequn.features.rules.kinds import ADMISSION, LOBBY, NAMECARD, WELCOME
from shequn.features.rules.service import StoredRule, rules_of
from shequn.kit.errors import RuleError
from shequn.models import EventRow, GroupRule, Identity, Membership, RuleState

_rule = GroupRule.__table__
_state = RuleState.__table__
_seat = Membership.__table__
_identity = Identity.__table__
_event = EventRow.__table__

KINDS = (ADMISSION, LOBBY, NAMECARD, WELCOME)
#: Kinds a group has at most one of: a group's own row replaces the community's.
ONE_PER_GROUP = (ADMISSION, NAMECARD, WELCOME)
MAX_KEY = 255
_CHUNK = 500


def state_key(prefix: str, *parts: object) -> str:
    """A ``rule_state`` key: ``prefix:part:part``, hashed past the column's length (a
    Matrix user id can be long) with the prefix kept, so prefix scans still find it."""
    key = ":".join([prefix, *(str(p) for p in parts)])
    if len(key) <= MAX_KEY:
        return key
    return f"{prefix}:sha256:{hashlib.sha256(key.encode()).hexdigest()}"


@dataclass(frozen=True, slots=True)
class Loaded:
    """A stored rule with its logic object, or the error it no longer builds with."""

    stored: StoredRule
    logic: Any = None
    error: AdmissionRuleError | None = None

    @property
    def id(self) -> int:
        return self.stored.id


def load(stored: StoredRule) -> Loaded:
    """The rule built; one that cannot be (its family refuses it, or its JSON is not even
    the right shape) carries the reason instead, so that one bad row never stops a batch."""
    try:
        return Loaded(stored, stored.build())
    except AdmissionRuleError as error:
        return Loaded(stored, error=error)
    except (RuleError, ValueError, TypeError, KeyError, AttributeError) as error:
        label = rule_label(stored.kind, str(stored.id), stored.name)
        why = str(error) or type(error).__name__
        problem = Problem(label, "(whole)", Wording(why, why))
        return Loaded(stored, error=AdmissionRuleError([problem]))


@dataclass(frozen=True, slots=True)
class RuleBook:
    """The admission rules of one community, by kind, in the operator's order."""

    by_kind: Mapping[str, tuple[Loaded, ...]] = field(default_factory=dict)

    def effective(self, kind: str, group_id: int | None) -> Loaded | None:
        """The rule of a one-per-group ``kind`` that governs ``group_id``: the group's own
        row when it has one — switched off, it leaves the group without one, which is how
        an operator exempts one group — else the community's enabled row."""
        rules = self.by_kind.get(kind, ())
        own = [r for r in rules if group_id is not None and r.stored.group_id == group_id]
        if own:
            return own[0] if own[0].stored.enabled else None
        shared = [r for r in rules if r.stored.group_id is None and r.stored.enabled]
        return shared[0] if shared else None

    def lobbies(self, platform: str, group: str) -> list[Loaded]:
        """The enabled lobby rules whose lobby is this platform group."""
        return [
            r
            for r in self.by_kind.get(LOBBY, ())
            if r.stored.enabled
            and r.logic is not None
            and (r.logic.lobby.platform, r.logic.lobby.group) == (platform, group)
        ]

    def has_lobbies(self) -> bool:
        return any(r.stored.enabled for r in self.by_kind.get(LOBBY, ()))


def _stamp(conn: Connection, community_id: int) -> tuple[Any, ...]:
    return tuple(
        tuple(row)
        for row in conn.execute(
            select(_rule.c.kind, func.count(), func.max(_rule.c.id), func.max(_rule.c.updated_at))
            .where(_rule.c.community_id == community_id, _rule.c.kind.in_(KINDS))
            .group_by(_rule.c.kind)
            .order_by(_rule.c.kind)
        )
    )


class RuleCache:
    """Each community's RuleBook, rebuilt only when its admission rules change."""

    def __init__(self) -> None:
        self._books: dict[int, tuple[tuple[Any, ...], RuleBook]] = {}

    def book(self, conn: Connection, community_id: int) -> RuleBook:
        stamp = _stamp(conn, community_id)
        kept = self._books.get(community_id)
        if kept is not None and kept[0] == stamp:
            return kept[1]
        by_kind: dict[str, list[Loaded]] = {}
        for stored in rules_of(conn, community_id, KINDS):
            by_kind.setdefault(stored.kind, []).append(load(stored))
        book = RuleBook({k: tuple(v) for k, v in by_kind.items()})
        self._books[community_id] = (stamp, book)
        return book


# --- rule state ---------------------------------------------------------------------------

Slot = tuple[int, str]  # (rule id, key)


@dataclass(slots=True)
class States:
    """The rule-state rows a batch or a tick works on: what was read, then what changed.

    Rows are read ``FOR UPDATE`` on PostgreSQL, in key order, so the ingest batch and the
    ticker never both act on one welcome queue or one lobby stay."""

    values: dict[Slot, dict[str, Any]] = field(default_factory=dict)
    changed: set[Slot] = field(default_factory=set)
    dropped: set[Slot] = field(default_factory=set)

    def read(self, conn: Connection, slots: Iterable[Slot]) -> None:
        wanted = sorted(set(slots) - set(self.values))
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            query = (
                select(_state.c.rule_id, _state.c.key, _state.c.value)
                .where(tuple_(_state.c.rule_id, _state.c.key).in_(chunk))
                .order_by(_state.c.rule_id, _state.c.key)
                .with_for_update()
            )
            for rule_id, key, value in conn.execute(query):
                self.values[(rule_id, key)] = dict(value)

    def scan(self, conn: Connection, rule_ids: Sequence[int], prefix: str) -> list[Slot]:
        """Read every row of these rules whose key starts with ``prefix``; their slots."""
        found: list[Slot] = []
        for start in range(0, len(rule_ids), _CHUNK):
            query = (
                select(_state.c.rule_id, _state.c.key, _state.c.value)
                .where(
                    _state.c.rule_id.in_(sorted(rule_ids)[start : start + _CHUNK]),
                    _state.c.key.startswith(prefix, autoescape=True),
                )
                .order_by(_state.c.rule_id, _state.c.key)
                .with_for_update()
            )
            for rule_id, key, value in conn.execute(query):
                self.values[(rule_id, key)] = dict(value)
                found.append((rule_id, key))
        return found

    def get(self, slot: Slot) -> dict[str, Any] | None:
        return self.values.get(slot)

    def put(self, slot: Slot, value: dict[str, Any]) -> None:
        self.values[slot] = value
        self.changed.add(slot)
        self.dropped.discard(slot)

    def drop(self, slot: Slot) -> None:
        self.values.pop(slot, None)
        self.changed.discard(slot)
        self.dropped.add(slot)

    def save(self, conn: Connection, now: datetime) -> None:
        gone = sorted(self.dropped)
        for start in range(0, len(gone), _CHUNK):
            conn.execute(
                delete(_state).where(
                    tuple_(_state.c.rule_id, _state.c.key).in_(gone[start : start + _CHUNK])
                )
            )
        rows = [
            {
                "rule_id": rule_id,
                "key": key,
                "value": self.values[(rule_id, key)],
                "updated_at": now,
            }
            for rule_id, key in sorted(self.changed)
        ]
        if rows:
            insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
            stmt = insert(_state)
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["rule_id", "key"],
                    set_={"value": stmt.excluded.value, "updated_at": stmt.excluded.updated_at},
                ),
                rows,
            )
        self.changed.clear()
        self.dropped.clear()


# --- seats and orders ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SeatInfo:
    """A member's seat in one group, as the membership processor left it."""

    number: int
    card: str
    joined_at: datetime
    present: bool


def seats_of(conn: Connection, pairs: Iterable[tuple[int, int]]) -> dict[tuple[int, int], SeatInfo]:
    """The seats of these (group id, member id) pairs."""
    wanted = sorted(set(pairs))
    found: dict[tuple[int, int], SeatInfo] = {}
    for start in range(0, len(wanted), _CHUNK):
        for gid, mid, number, card, joined, left in conn.execute(
            select(
                _seat.c.group_id,
                _seat.c.member_id,
                _seat.c.number,
                _seat.c.card_name,
                _seat.c.joined_at,
                _seat.c.left_at,
            ).where(tuple_(_seat.c.group_id, _seat.c.member_id).in_(wanted[start : start + _CHUNK]))
        ):
            found[(gid, mid)] = SeatInfo(number, card or "", joined, left is None)
    return found


def purchases_of(conn: Connection, member_ids: Iterable[int]) -> dict[int, tuple[Purchase, ...]]:
    """Every member's orders, from the PURCHASE events of any of their identities (a shop's
    account merged into the member counts as theirs). A member without any gets ``()``:
    "none on record", which the checks tell apart from "could not be looked up"."""
    wanted = sorted(set(member_ids))
    found: dict[int, list[Purchase]] = {m: [] for m in wanted}
    for start in range(0, len(wanted), _CHUNK):
        rows = conn.execute(
            select(
                _identity.c.member_id,
                _event.c.platform,
                _event.c.source,
                _event.c.source_id,
                _event.c.occurred_at,
                _event.c.payload,
            )
            .join(_identity, _identity.c.id == _event.c.identity_id)
            .where(
                _identity.c.member_id.in_(wanted[start : start + _CHUNK]),
                _event.c.type == EventType.PURCHASE.value,
            )
            .order_by(_event.c.occurred_at, _event.c.id)
        )
        for member_id, platform, source, source_id, at, payload in rows:
            event = Event(EventType.PURCHASE, platform, source, source_id, at, payload=payload)
            purchase = Purchase.from_event(event)
            if purchase is not None:
                found[member_id].append(purchase)
    return {m: tuple(p) for m, p in found.items()}


def rules_texts(conn: Connection, community_id: int, group_ids: Iterable[int]) -> dict[int, str]:
    """Each group's rules text, from the welcome rule that governs it: what ``/rules``
    answers. Groups whose welcome rule has none (or no longer builds) are left out."""
    stored = rules_of(conn, community_id, WELCOME)
    book = RuleBook({WELCOME: tuple(load(s) for s in stored)})
    texts: dict[int, str] = {}
    for gid in set(group_ids):
        rule = book.effective(WELCOME, gid)
        if rule is not None and rule.logic is not None and rule.logic.rules_text.strip():
            texts[gid] = rule.logic.rules_text
    return texts
