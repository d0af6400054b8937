"""Admission as an ingest processor: join requests decided, arrivals received, lobbies kept.

It runs after the membership processor, so the seats it reads (numbers, cards, joins) are
those the batch's own events left. For each event of the batch:

* a join request is decided by the group's admission rule (see ``admit``);
* a join adds the newcomer to the group's welcome batch, starts their lobby stay where the
  group is a lobby, and checks their name card against the group's format — setting the
  suggested card where the platform lets the bot (``capabilities``, from the adapters that
  run), reminding them where it does not;
* a message in a lobby may be the member's self-introduction, which may complete the
  lobby's rules and promote them at once;
* a card change is checked again; a leave ends what was waiting for the member.

What falls due later — batches whose window closes, members whose days in the lobby are
up, reminders to repeat, welcomes to delete — is the ticker's (``ticker``). A stored rule
that no longer builds is not applied, and an operator is told once per version of it.
"""

from __future__ import annotations

from collections.abc import Collection, Container, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, select

from shequn.core import Action, ActionType, EventType, StoredEvent
from shequn.features.admission.admit import Applicant, Applicants
from shequn.features.admission.arrivals import (
    CardHolder,
    bad_rule_notice,
    card_check,
    card_slot,
    lobby_join,
    lobby_leave,
    lobby_message,
    member_slot,
    promoted_slot,
    queue_slot,
    welcome_join,
    welcome_leave,
)
from shequn.features.admission.join_request import JoinRequest, Purchase
from shequn.features.admission.store import (
    Loaded,
    RuleBook,
    RuleCache,
    SeatInfo,
    Slot,
    States,
    purchases_of,
    seats_of,
)
from shequn.features.admission.welcome import Newcomer
from shequn.features.rules.kinds import ADMISSION, LOBBY, NAMECARD, WELCOME
from shequn.models import Identity

_identity = Identity.__table__
_TYPES = frozenset(
    {
        EventType.JOIN_REQUEST,
        EventType.JOIN,
        EventType.LEAVE,
        EventType.MESSAGE,
        EventType.MEMBER_UPDATE,
    }
)


def _relevant(stored: StoredEvent) -> bool:
    event = stored.event
    if stored.group_id is None or not event.actor or not event.group:
        return False
    if event.type is EventType.MEMBER_UPDATE:
        return "card" in event.payload
    return event.type in _TYPES


@dataclass(slots=True)
class Batch:
    """What one ingest batch's admission work reads and changes."""

    books: dict[int, RuleBook] = field(default_factory=dict)
    states: States = field(default_factory=States)
    applicants: Applicants | None = None
    requests: dict[int, Applicant] = field(default_factory=dict)
    seats: dict[tuple[int, int], SeatInfo] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)
    purchases: dict[int, tuple[Purchase, ...]] = field(default_factory=dict)
    noticed: set[int] = field(default_factory=set)
    now: datetime | None = None


def _valid(rule: Loaded | None) -> Loaded | None:
    return rule if rule is not None and rule.logic is not None else None


class AdmissionProcessor:
    name = "admission"

    def __init__(
        self,
        *,
        lang: str = "zh-CN",
        capabilities: Mapping[str, Collection[ActionType]] | None = None,
        skip: Container[int] = frozenset(),
    ) -> None:
        self.lang = lang
        #: Stored event ids moderation acted on in this batch (a blacklisted member's join
        #: request or join): admission neither approves nor welcomes them.
        self.skip = skip
        #: What each platform's adapter can do: a name card is set only where SET_CARD is.
        self.capabilities = {p: frozenset(c) for p, c in (capabilities or {}).items()}
        self._rules = RuleCache()

    def _can_set_card(self, platform: str) -> bool:
        return ActionType.SET_CARD in self.capabilities.get(platform, frozenset())

    # --- load -----------------------------------------------------------------------------

    def load(self, conn: Connection, batch: Sequence[StoredEvent]) -> Batch:
        state = Batch()
        wanted = [s for s in batch if _relevant(s)]
        if not wanted:
            return state
        state.now = max(s.event.occurred_at for s in wanted)
        for cid in sorted({s.community_id for s in wanted}):
            state.books[cid] = self._rules.book(conn, cid)
        slots: list[Slot] = []
        pairs: set[tuple[int, int]] = set()
        unnamed: set[int] = set()
        buyers: set[int] = set()
        applicants: list[Applicant] = []
        for stored in wanted:
            event, book, gid = stored.event, state.books[stored.community_id], stored.group_id
            assert gid is not None and event.actor is not None and event.group is not None
            mid = stored.member_id
            lobbies = book.lobbies(event.platform, event.group)
            if event.type is EventType.MESSAGE and not lobbies:
                continue
            if mid is not None:
                pairs.add((gid, mid))
            if event.type is EventType.JOIN_REQUEST:
                rule = book.effective(ADMISSION, gid)
                request = JoinRequest.from_event(event)
                if rule is not None and request is not None:
                    applicants.append(Applicant(stored, request, rule))
                    state.requests[stored.id] = applicants[-1]
                continue
            if event.type in (EventType.JOIN, EventType.LEAVE):
                welcome = _valid(book.effective(WELCOME, gid))
                if welcome is not None:
                    slots.append(queue_slot(welcome.id, gid))
                if not event.actor_name and stored.identity_id is not None:
                    unnamed.add(stored.identity_id)
            if event.type is not EventType.MESSAGE:
                card = _valid(book.effective(NAMECARD, gid))
                if card is not None and mid is not None:
                    slots.append(card_slot(card.id, gid, mid))
            if event.type is not EventType.MEMBER_UPDATE:
                for lobby in lobbies:
                    slots.append(member_slot(lobby.id, event.platform, event.actor))
                    slots.append(promoted_slot(lobby.id, event.platform, event.actor))
                    if lobby.logic.fee is not None and mid is not None:
                        buyers.add(mid)
        state.states.read(conn, slots)
        state.applicants = Applicants.load(conn, applicants, state.books, state.states, self.lang)
        state.seats = seats_of(conn, pairs)
        if unnamed:
            state.names = dict(
                conn.execute(
                    select(_identity.c.id, _identity.c.display_name).where(
                        _identity.c.id.in_(sorted(unnamed))
                    )
                ).all()
            )
        if buyers:
            state.purchases = purchases_of(conn, buyers)
        return state

    # --- step -----------------------------------------------------------------------------

    def step(self, state: Batch, stored: StoredEvent) -> Iterable[Action]:
        book = state.books.get(stored.community_id)
        if book is None or not _relevant(stored) or stored.id in self.skip:
            return ()
        kind = stored.event.type
        if kind is EventType.JOIN_REQUEST:
            applicant = state.requests.get(stored.id)
            if applicant is None or state.applicants is None:
                return ()
            return state.applicants.decide(applicant, state.states)
        if kind is EventType.JOIN:
            return self._joined(state, book, stored)
        if kind is EventType.LEAVE:
            return self._left(state, book, stored)
        if kind is EventType.MESSAGE:
            return self._spoke(state, book, stored)
        return self._card(state, book, stored)

    def _notice(self, state: Batch, rule: Loaded) -> list[Action]:
        if rule.id in state.noticed:
            return []
        state.noticed.add(rule.id)
        return [bad_rule_notice(rule, self.lang)]

    def _name(self, state: Batch, stored: StoredEvent) -> str:
        event = stored.event
        named = state.names.get(stored.identity_id) if stored.identity_id is not None else None
        return event.actor_name or named or event.actor or ""

    def _seat(self, state: Batch, stored: StoredEvent) -> SeatInfo | None:
        if stored.group_id is None or stored.member_id is None:
            return None
        return state.seats.get((stored.group_id, stored.member_id))

    def _holder(self, state: Batch, stored: StoredEvent, card: str | None = None) -> CardHolder:
        event, seat = stored.event, self._seat(state, stored)
        assert stored.group_id is not None and stored.member_id is not None
        return CardHolder(
            group_id=stored.group_id,
            member_id=stored.member_id,
            platform=event.platform,
            group=event.group or "",
            user=event.actor or "",
            name=self._name(state, stored),
            number=seat.number if seat is not None else None,
            card=card if card is not None else (seat.card if seat is not None else ""),
        )

    def _joined(self, state: Batch, book: RuleBook, stored: StoredEvent) -> list[Action]:
        event, gid = stored.event, stored.group_id
        assert gid is not None and event.actor is not None and event.group is not None
        seat, name, now = self._seat(state, stored), self._name(state, stored), event.occurred_at
        actions: list[Action] = []
        welcome = book.effective(WELCOME, gid)
        if welcome is not None and welcome.logic is None:
            actions += self._notice(state, welcome)
        elif welcome is not None:
            newcomer = Newcomer(event.actor, name, now, seat.number if seat is not None else None)
            actions += welcome_join(
                state.states,
                welcome,
                group_id=gid,
                platform=event.platform,
                group=event.group,
                group_name=event.group_name or "",
                newcomer=newcomer,
                now=now,
                key=f"welcome:{welcome.id}:{stored.id}",
                lang=self.lang,
            )
        for lobby in book.by_kind.get(LOBBY, ()):
            if lobby.stored.enabled and lobby.logic is None:
                actions += self._notice(state, lobby)
        for lobby in book.lobbies(event.platform, event.group):
            lobby_join(
                state.states,
                lobby,
                user=event.actor,
                name=name,
                number=seat.number if seat is not None else None,
                joined_at=now,
                member_id=stored.member_id,
            )
        return actions + self._check_card(state, book, stored)

    def _check_card(
        self, state: Batch, book: RuleBook, stored: StoredEvent, card: str | None = None
    ) -> list[Action]:
        rule = book.effective(NAMECARD, stored.group_id)
        if rule is None or stored.member_id is None:
            return []
        if rule.logic is None:
            return self._notice(state, rule)
        return card_check(
            state.states,
            rule,
            self._holder(state, stored, card),
            stored.event.occurred_at,
            can_set_card=self._can_set_card(stored.event.platform),
            key=f"admission:{stored.id}:card",
            lang=self.lang,
        )

    def _card(self, state: Batch, book: RuleBook, stored: StoredEvent) -> list[Action]:
        changed = stored.event.payload.get("card")
        return self._check_card(state, book, stored, str(changed or "")[:255])

    def _left(self, state: Batch, book: RuleBook, stored: StoredEvent) -> list[Action]:
        event, gid = stored.event, stored.group_id
        assert gid is not None and event.actor is not None and event.group is not None
        welcome = _valid(book.effective(WELCOME, gid))
        if welcome is not None:
            welcome_leave(state.states, welcome, group_id=gid, user=event.actor)
        card = _valid(book.effective(NAMECARD, gid))
        if card is not None and stored.member_id is not None:
            state.states.drop(card_slot(card.id, gid, stored.member_id))
        for lobby in book.lobbies(event.platform, event.group):
            lobby_leave(state.states, lobby, user=event.actor)
        return []

    def _spoke(self, state: Batch, book: RuleBook, stored: StoredEvent) -> list[Action]:
        event = stored.event
        assert event.actor is not None and event.group is not None
        actions: list[Action] = []
        for lobby in book.lobbies(event.platform, event.group):
            seat = self._seat(state, stored)
            mid = stored.member_id
            actions += lobby_message(
                state.states,
                lobby,
                user=event.actor,
                name=self._name(state, stored),
                number=seat.number if seat is not None else None,
                joined_at=seat.joined_at if seat is not None else event.occurred_at,
                member_id=mid,
                text=event.text,
                purchases=state.purchases.get(mid) if mid is not None else None,
                now=event.occurred_at,
                lang=self.lang,
            )
        return actions

    # --- save -----------------------------------------------------------------------------

    def save(self, conn: Connection, state: Batch) -> None:
        if state.now is None:
            return
        state.states.save(conn, state.now)
        if state.applicants is not None:
            state.applicants.save(conn, state.now)
