"""The event stream: the plan played out day by day, in time order, in constant memory.

Each call to ``events`` starts from the same seeded state, so a stream can be
iterated twice and yields the same events. Within a day every group produces
its events (joins and leaves, chat, rituals, check-ins, talks, reads,
purchases), then the day is sorted and handed out; only one day is ever held.

Presence rule (what keeps the stream honest): a member chats, reacts, checks
in, reads, attends or buys on a day only if they were in the group for the
whole day. On the day they join they may only introduce themselves (after the
join); on the day they leave they are already silent.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import accumulate
from operator import itemgetter
from random import Random
from typing import Any

from shequn.core.events import Event, EventType
from shequn.core.message import Message
from shequn.simulator import activities
from shequn.simulator.chat import GroupChat
from shequn.simulator.plan import GroupPlan, Plan, Stint
from shequn.simulator.rhythm import burst_times, poisson, volume_factor
from shequn.simulator.vocabulary import REACTION_EMOJI

JOIN, LEAVE = 0, 1
MESSAGE = EventType.MESSAGE
REACTION = EventType.REACTION
_fromts = datetime.fromtimestamp
_by_time = itemgetter(0)

#: What the events of one day are collected in: (POSIX time, event), sorted at the end of the day.
Out = list[tuple[float, Event]]


@dataclass(slots=True)
class Today:
    """The day being generated, as one group sees it."""

    day: int
    start: float  # POSIX time of local midnight
    end: float  # the last instant of the day an event may take
    fade: float  # 1.0, or how much of its leader a declining group still has
    out: Out


class _Shared:
    """State shared by every group of one stream."""

    def __init__(self, plan: Plan) -> None:
        self.src = (plan.config.platform, plan.config.source)
        self.orders = 0


class GroupRun:
    """One group's mutable state while the stream runs: who is in, who talks, what was said."""

    def __init__(self, plan: Plan, gp: GroupPlan, index: int, rng: Random, shared: _Shared) -> None:
        self.plan, self.gp, self.index, self.rng, self.shared = plan, gp, index, rng, shared
        self.where = (gp.group.external_id, gp.group.name)
        people = plan.people
        self.who = [(people[s.person].external_id, people[s.person].nickname) for s in gp.seats]
        self.base = [s.weight for s in gp.seats]  # talkativeness; 0 once fallen silent
        self.weights = [0.0] * len(gp.seats)  # today's: 0 for anyone not in the group
        self.present = bytearray(len(gp.seats))
        self.count = 0
        self.n = 0  # events emitted, for source ids
        self.sessions = 0
        self.chat = GroupChat(rng, gp.topic, gp.group.external_id)
        self.admins = list(range(gp.staff))  # seat 0 is the owner
        self.checkers = [i for i, s in enumerate(gp.seats) if s.checkin > 0]
        self.unheard: set[int] = set()  # newcomers who have not spoken yet
        self.introduced: set[int] = set()  # newcomers who said hello on the day they joined
        self.changes: dict[int, list[tuple[float, int, int, Stint]]] = {}
        self.silences: dict[int, list[int]] = {}
        self.titles: dict[int, list[tuple[int, str]]] = {}
        cal = plan.calendar
        for i, seat in enumerate(gp.seats):
            for stint in seat.stints:
                if stint.join >= cal.start:
                    self.changes.setdefault(cal.day_of(stint.join), []).append(
                        (stint.join, JOIN, i, stint)
                    )
                else:
                    self.enter(i)
                if stint.leave is not None:
                    self.changes.setdefault(cal.day_of(stint.leave), []).append(
                        (stint.leave, LEAVE, i, stint)
                    )
            if seat.silent_from is not None:
                self.silences.setdefault(seat.silent_from, []).append(i)
        for todo in self.changes.values():
            todo.sort(key=_by_time)
        for day, seat_index, title in gp.titles:
            self.titles.setdefault(day, []).append((seat_index, title))

    def enter(self, i: int) -> None:
        if not self.present[i]:
            self.present[i] = 1
            self.count += 1
        self.weights[i] = self.base[i]

    def exit(self, i: int) -> None:
        if self.present[i]:
            self.present[i] = 0
            self.count -= 1
        self.weights[i] = 0.0

    def emit(
        self,
        out: Out,
        ts: float,
        etype: EventType,
        seat: int,
        payload: dict[str, Any] | None = None,
        message: Message | None = None,
    ) -> str:
        """Append one event by ``seat`` at ``ts``; returns its source id (the message id)."""
        self.n += 1
        sid = f"{self.where[0]}:{self.n}"
        if message is not None:
            payload = {"message_id": sid}
        src, where, who, when = self.shared.src, self.where, self.who[seat], _fromts(ts, UTC)
        out.append((ts, Event(etype, *src, sid, when, *where, *who, message, payload or {})))
        return sid

    def random_present(self) -> int | None:
        """Anyone in the group today, talkative or not (readers, attendees, buyers)."""
        rng, present, size = self.rng, self.present, len(self.present)
        for _ in range(30):
            i = int(rng.random() * size)
            if present[i]:
                return i
        return None

    def staff_voice(self, chance: float) -> int | None:
        """The owner or an admin, with probability ``chance`` (a fading leader often is absent)."""
        if self.rng.random() >= chance:
            return None
        return self.admins[int(self.rng.random() * len(self.admins))]

    def join_payload(self, i: int, stint: Stint) -> dict[str, Any]:
        role = self.gp.seats[i].role
        payload = {"role": role, "via": stint.via, "entry_source": stint.entry_source}
        if stint.via == "invite":
            inviter = 0 if i < self.gp.staff else self.random_present()
            if inviter is not None and inviter != i:
                payload["inviter"] = self.who[inviter][0]
        return payload

    def day(self, d: int, out: Out) -> None:
        """Everything that happens in this group on day ``d``, appended to ``out``."""
        gp, rng, cal = self.gp, self.rng, self.plan.calendar
        if d < gp.created_day:
            return
        start, length = cal.day_start(d), cal.day_length(d)
        today = Today(d, start, start + length - 0.5, 1.0, out)
        vigour = 1.0
        if gp.fade_day is not None and d >= gp.fade_day:
            # The leader fades first (over the first 45 % of the decline); members fall
            # silent (see plan.py) and those who remain talk less and less.
            progress = (d - gp.fade_day) / max(1, cal.days - gp.fade_day)
            today.fade = 0.02 + 0.98 * max(0.0, 1.0 - progress / 0.45) ** 1.5
            vigour = 1.0 - 0.5 * progress
            for i in self.admins:
                self.weights[i] = self.base[i] * today.fade
        for i in self.silences.get(d, ()):
            self.base[i] = self.weights[i] = 0.0

        joined = self.comings_and_goings(today)
        cum = list(accumulate(self.weights))
        weekday = cal.weekday(d)
        session = activities.session_today(self, today, weekday)
        anchors: tuple[tuple[float, int], ...] = ()
        if session is not None:
            anchors = ((session[0] - start, poisson(rng, self.count * 0.05 * today.fade)),)
        self.chat.session = session
        mean = self.plan.rate * cum[-1] * volume_factor(weekday, gp.topic.weekend) * vigour
        if cum[-1] > 0:
            count = poisson(rng, mean * rng.lognormvariate(0.0, 0.15))
            self.talk(today, burst_times(rng, count, length, anchors), cum)
        activities.welcome(self, today, joined, cum)
        activities.award_titles(self, today)
        activities.check_ins(self, today)
        activities.weekly_talk(self, today, session)
        activities.morning_article(self, today)
        activities.purchases(self, today)
        for _, i, stint in joined:  # newcomers take part from tomorrow on
            if stint.leave is None or stint.leave > today.end:
                self.enter(i)
                if i >= gp.staff and i not in self.introduced:
                    self.unheard.add(i)
                if i < gp.staff:
                    self.weights[i] = self.base[i] * today.fade

    def comings_and_goings(self, today: Today) -> list[tuple[float, int, Stint]]:
        """Today's joins and leaves (and spammers' one ad); returns who joined."""
        joined = []
        for ts, kind, i, stint in self.changes.get(today.day, ()):
            if kind == JOIN:
                self.emit(today.out, ts, EventType.JOIN, i, self.join_payload(i, stint))
                joined.append((ts, i, stint))
                if self.gp.seats[i].spam and stint.leave is not None:
                    ad_at = ts + self.rng.uniform(0.1, 0.6) * (stint.leave - ts)
                    self.emit(today.out, ad_at, MESSAGE, i, message=self.chat.spam(self.n))
            else:
                payload = {}
                if stint.kicked_by is not None:
                    payload["kicked_by"] = self.plan.people[stint.kicked_by].external_id
                self.emit(today.out, ts, EventType.LEAVE, i, payload)
                self.exit(i)
        return joined

    def talk(self, today: Today, times: list[float], cum: list[float]) -> None:
        """The day's chat: speakers drawn by weight, messages in order, some reactions."""
        rng, chat, who, staff, out = self.rng, self.chat, self.who, self.gp.staff, today.out
        src, where, gid = self.shared.src, self.where, self.where[0]
        start, end = today.start, today.end
        seats = range(len(cum))
        n = self.n
        for sec, seat in zip(times, rng.choices(seats, cum_weights=cum, k=len(times)), strict=True):
            ts = start + sec
            n += 1
            sid = f"{gid}:{n}"
            message = chat.say(ts, int(sec // 3600), seat, seat < staff, sid, n, who)
            payload = {"message_id": sid}
            when = _fromts(ts, UTC)
            out.append((ts, Event(MESSAGE, *src, sid, when, *where, *who[seat], message, payload)))
            if seat in self.unheard:  # a newcomer's first words: somebody usually answers
                self.unheard.discard(seat)
                host = self.staff_voice(0.8 * today.fade)
                if host is not None:
                    self.n = n
                    at = min(ts + rng.uniform(20, 900), end)
                    account, nick = who[seat]
                    self.emit(out, at, MESSAGE, host, message=chat.greet_first(account, nick))
                    n = self.n
            if rng.random() < 0.07:
                for fan in rng.choices(seats, cum_weights=cum, k=1 + (rng.random() < 0.3)):
                    if fan == seat:
                        continue
                    at = min(ts + rng.expovariate(1 / 300.0), end)
                    n += 1
                    emoji = REACTION_EMOJI[int(rng.random() * len(REACTION_EMOJI))]
                    payload = {"target": sid, "emoji": emoji}
                    rid, when = f"{gid}:{n}", _fromts(at, UTC)
                    out.append(
                        (at, Event(REACTION, *src, rid, when, *where, *who[fan], None, payload))
                    )
        self.n = n


def _before_window(plan: Plan, runs: list[GroupRun], rng: Random) -> Iterator[Event]:
    """Founding joins of the groups that existed before the window, oldest first."""
    start = plan.calendar.start
    pending = [
        (stint.join, g, i, stint)
        for g, gp in enumerate(plan.groups)
        for i, seat in enumerate(gp.seats)
        for stint in seat.stints
        if stint.join < start
    ]
    pending.sort(key=lambda item: (item[0], item[1], item[2]))
    joined: list[list[int]] = [[] for _ in runs]
    out: Out = []
    for ts, g, i, stint in pending:
        run = runs[g]
        payload = {"role": run.gp.seats[i].role, "via": stint.via}
        payload["entry_source"] = stint.entry_source
        if 0 < i < run.gp.staff:
            payload["inviter"] = run.who[0][0]  # the owner brings in the admins
        elif stint.via == "invite" and joined[g]:
            payload["inviter"] = run.who[joined[g][int(rng.random() * len(joined[g]))]][0]
        joined[g].append(i)
        run.emit(out, ts, EventType.JOIN, i, payload)
        yield out.pop()[1]


def events(plan: Plan) -> Iterator[Event]:
    """Every event of the community, in time order, generated a day at a time."""
    rng = Random(f"shequn-sim-stream:{plan.config.seed}")
    shared = _Shared(plan)
    runs = [GroupRun(plan, gp, g, rng, shared) for g, gp in enumerate(plan.groups)]
    yield from _before_window(plan, runs, rng)
    for d in range(plan.calendar.days):
        out: Out = []
        for run in runs:
            run.day(d, out)
        out.sort(key=_by_time)
        for _, event in out:
            yield event
