"""The cast and the script: people, groups, who sits where and when, and each group's arc.

Everything that is decided once per community lives here and is small (one
record per person and per seat); the day-by-day stream in ``stream.py`` reads
it and never materialises the events. The arcs are the ground truth that
health analytics must later find:

* ``healthy``: existed before the window; a steady trickle of joins and leaves;
* ``declining``: existed before; from ~60 % of the window on, the owner and the
  admins fade, most speakers fall silent one by one while the roster holds
  (the 围城 of seed 003), new joins stop and some members leave;
* ``growing``: created inside the window, members arriving at a rising rate.
"""

from __future__ import annotations

import math
from bisect import bisect
from dataclasses import dataclass, field, replace
from datetime import date
from itertools import accumulate
from random import Random
from typing import Literal

from shequn.simulator import names
from shequn.simulator.config import SimConfig
from shequn.simulator.rhythm import Calendar, chat_second
from shequn.simulator.topics import TOPICS, Topic
from shequn.simulator.vocabulary import JOIN_SOURCES, JOIN_VIA, JOIN_VIA_CUM, TITLES

Arc = Literal["healthy", "declining", "growing"]

#: Share of ordinary people who never say a word (newcomers' greetings make a few speak once).
LURKERS = 0.62
#: Spread of speakers' log-normal talkativeness: 1.6 gives the 80/20 rule among speakers.
ACTIVITY_SIGMA = 1.6
WEIGHT_CAP = 100.0
#: Chat volume: messages per seat per day in an average group.
MESSAGES_PER_SEAT_DAY = 0.62
#: Daily probability that a member leaves (≈10 % over 90 days).
LEAVE_HAZARD = 0.0012
#: Where the declining arc starts, as a share of the window.
FADE_AT = 0.6
GROUP_SIZES = (500, 1000, 2000, 3000, 5000, 10000)


@dataclass(frozen=True)
class SimPerson:
    external_id: str
    name: str
    nickname: str


@dataclass(frozen=True)
class SimGroup:
    external_id: str
    name: str
    arc: Arc
    capacity: int
    owner: str
    admins: list[str]
    created_on: date
    topic: str


@dataclass(slots=True)
class Stint:
    """One uninterrupted stay of a person in a group (POSIX seconds)."""

    join: float
    leave: float | None = None
    kicked_by: int | None = None  # the person index of the admin who kicked
    via: str = "qrcode"
    entry_source: str = "公众号"


@dataclass(slots=True)
class Seat:
    """A person's place in one group: their role, how much they talk there, and their stays."""

    person: int
    role: str
    weight: float
    stints: list[Stint] = field(default_factory=list)
    silent_from: int | None = None  # declining arc: the day they stop talking
    checkin: float = 0.0  # daily probability of a check-in
    spam: bool = False  # joins, posts an ad, gets kicked


@dataclass(slots=True)
class GroupPlan:
    group: SimGroup
    topic: Topic
    seats: list[Seat]  # owner first, then the admins, then members
    staff: int  # how many leading seats are owner and admins
    created_day: int
    fade_day: int | None  # declining only
    session_weekday: int
    session_hour: float
    titles: list[tuple[int, int, str]]  # (day, seat index, title)


@dataclass(slots=True)
class Plan:
    config: SimConfig
    calendar: Calendar
    name: str
    people: list[SimPerson]
    groups: list[GroupPlan]
    rate: float  # messages per unit of seat weight per day


def _people(rng: Random, count: int) -> list[SimPerson]:
    width = max(5, len(str(count)))
    out = []
    for i in range(count):
        name = names.real_name(rng)
        out.append(SimPerson(f"u{i:0{width}d}", name, names.nickname(rng, name)))
    return out


def _activity(rng: Random) -> float:
    """A heavy-tailed talkativeness: most people are silent, a few never stop."""
    if rng.random() < LURKERS:
        return 0.0
    return min(WEIGHT_CAP, rng.lognormvariate(0.0, ACTIVITY_SIGMA))


def _lifecycles(rng: Random, groups: int, days: int) -> list[tuple[Arc, int]]:
    """Each group's arc and founding day offset, oldest group first.

    The oldest group (g01, the flagship) stays healthy; the declining ones are
    among the older groups (decline comes with age); growing ones are the
    newest, founded inside the window.
    """
    declining = max(1, round(groups * 0.1)) if groups >= 3 else 0
    growing = max(1, round(groups * 0.15)) if groups >= 3 else 0
    old = groups - growing
    founded = sorted(-rng.randint(60, 480) for _ in range(old))
    ranks = set(rng.sample(range(1, min(old, max(2, math.ceil(old * 0.6)))), declining))
    out: list[tuple[Arc, int]] = [
        ("declining" if r in ranks else "healthy", day) for r, day in enumerate(founded)
    ]
    new = sorted(min(days - 1, int(days * rng.uniform(0.2, 0.45))) for _ in range(growing))
    return out + [("growing", day) for day in new]


def _via(rng: Random) -> tuple[str, str]:
    """How someone came in (invite, QR code…) and the channel that brought them (公众号…)."""
    via = JOIN_VIA[bisect(JOIN_VIA_CUM, rng.random())]
    sources = JOIN_SOURCES[via]
    return via, sources[int(rng.random() * len(sources))]


class _Planner:
    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self.rng = Random(f"shequn-sim-plan:{config.seed}")
        self.cal = Calendar(config.end, config.days, config.timezone)

    def at(self, day: int, second: float) -> float:
        return self.cal.day_start(day) + min(second, self.cal.day_length(day) - 1.0)

    def build(self) -> Plan:
        rng, cfg = self.rng, self.config
        people = _people(rng, cfg.members)
        activity = [_activity(rng) for _ in people]
        primary = TOPICS[rng.randrange(len(TOPICS))]
        others = [t for t in TOPICS if t is not primary]
        rng.shuffle(others)
        brands = {t.key: rng.choice(t.brands) for t in TOPICS}
        community = brands[primary.key]
        lifecycles = _lifecycles(rng, cfg.groups, cfg.days)

        n_owners = max(1, math.ceil(cfg.groups / 5))
        n_admins = math.ceil(cfg.groups / 4)
        staff_count = min(cfg.members, n_owners + n_admins)
        owners = list(range(min(n_owners, staff_count)))
        admin_pool = list(range(len(owners), staff_count))
        regulars = list(range(staff_count, cfg.members))
        for i in range(staff_count):  # the operators' accounts carry the community's name
            person = people[i]
            people[i] = replace(person, nickname=names.staff_nickname(community, person.name))

        # Ordinary people pick 1–3 groups, bigger groups being likelier.
        appeal = list(accumulate(rng.uniform(0.5, 1.45) for _ in range(cfg.groups)))
        members: list[list[int]] = [[] for _ in range(cfg.groups)]
        for person in regulars:
            r = rng.random()
            k = min(cfg.groups, 1 if r < 0.78 else 2 if r < 0.94 else 3)
            picked: set[int] = set()
            while len(picked) < k:
                picked.add(bisect(appeal, rng.random() * appeal[-1]))
            for g in sorted(picked):
                members[g].append(person)

        width = max(2, len(str(cfg.groups)))
        numbers: dict[str, int] = {}
        groups = []
        for rank, (arc, founded) in enumerate(lifecycles):
            # Half the groups share the community's own topic; the rest rotate through others.
            topic = primary if rank % 2 == 0 else others[(rank // 2) % len(others)]
            numbers[topic.key] = numbers.get(topic.key, 0) + 1
            owner = owners[rank % len(owners)]
            staff_admins = [admin_pool[rank % len(admin_pool)]] if admin_pool else []
            groups.append(
                self.group(
                    gid=f"g{rank + 1:0{width}d}",
                    name=f"{brands[topic.key]}{numbers[topic.key]}群",
                    topic=topic,
                    arc=arc,
                    created_day=founded,
                    owner=owner,
                    staff_admins=staff_admins,
                    members=members[rank],
                    activity=activity,
                    people=people,
                )
            )
        seats = [s for g in groups for s in g.seats]
        weight = sum(s.weight for s in seats)
        rate = MESSAGES_PER_SEAT_DAY * len(seats) / weight if weight else 0.0
        return Plan(cfg, self.cal, community, people, groups, rate)

    def group(
        self,
        *,
        gid: str,
        name: str,
        topic: Topic,
        arc: Arc,
        created_day: int,
        owner: int,
        staff_admins: list[int],
        members: list[int],
        activity: list[float],
        people: list[SimPerson],
    ) -> GroupPlan:
        rng, days = self.rng, self.config.days
        # One to three admins: an operator from the team plus active members promoted (班委).
        promoted_n = min(len(members), rng.randint(0 if staff_admins else 1, 2))
        promoted = sorted(members, key=lambda p: -activity[p])[:promoted_n]
        admins = [a for a in staff_admins if a != owner] + promoted
        regular = [p for p in members if p not in promoted]
        fade_day = round(days * FADE_AT) if arc == "declining" else None

        founded = created_day
        seats = [Seat(owner, "owner", 35.0 * rng.uniform(0.7, 1.3))]
        seats += [Seat(a, "admin", 22.0 * rng.uniform(0.7, 1.3)) for a in admins]
        for n, seat in enumerate(seats):
            t = self.at(founded, 10 * 3600.0 + n * rng.uniform(60, 600))
            # The owner creates the group; the owner invites the admins.
            seat.stints.append(Stint(t, via="create" if n == 0 else "invite", entry_source="建群"))
        staff = len(seats)
        in_window = rng.uniform(0.12, 0.25) if arc == "healthy" else 0.1
        for p in regular:
            seat = Seat(p, "member", activity[p] * rng.lognormvariate(0.0, 0.35))
            kicker = seats[rng.randrange(staff)].person
            seat.stints = self.stints(seat, arc, founded, fade_day, in_window, kicker)
            seats.append(seat)

        # In a decline the occasional speakers drop out early and nearly all of them; the
        # core talkers hang on longer and some never stop: a few still talk, most lurk (围城).
        talk = sorted(s.weight for s in seats[staff:] if s.weight > 0)
        core = talk[int(len(talk) * 0.85)] if talk else 0.0
        for seat in seats[staff:]:
            if not seat.spam and rng.random() < 0.06:
                seat.checkin = rng.uniform(0.3, 0.9)
            if fade_day is None or seat.weight == 0:
                continue
            if seat.weight < core and rng.random() < 0.9:
                seat.silent_from = fade_day + int((days - fade_day) * rng.random() ** 2.5)
            elif seat.weight >= core and rng.random() < 0.4:
                seat.silent_from = fade_day + int((days - fade_day) * rng.random())

        # Titles go to the most talkative members, early in the group's life in the window.
        first = max(0, founded + 7)
        last = max(first, round(days * (0.5 if fade_day is None else 0.4)))
        talkers = sorted(range(staff, len(seats)), key=lambda s: -seats[s].weight)
        titles = []
        if first < days:
            for title, s in zip(rng.sample(TITLES, rng.randint(3, 6)), talkers, strict=False):
                titles.append((rng.randint(first, last), s, title))
        titles.sort()

        size = len(seats)
        capacity = next((c for c in GROUP_SIZES if c >= size * 1.05), math.ceil(size * 1.1))
        group = SimGroup(
            external_id=gid,
            name=name,
            arc=arc,
            capacity=capacity,
            owner=people[owner].external_id,
            admins=[people[a].external_id for a in admins],
            created_on=self.cal.date(founded),
            topic=topic.key,
        )
        return GroupPlan(
            group,
            topic,
            seats,
            staff,
            founded,
            fade_day,
            session_weekday=rng.choice((1, 2, 3)),
            session_hour=rng.choice((19.5, 20.0, 21.0)),
            titles=titles,
        )

    def stints(
        self,
        seat: Seat,
        arc: Arc,
        founded: int,
        fade_day: int | None,
        in_window: float,
        kicker: int,
    ) -> list[Stint]:
        """When one ordinary member joins and leaves (and maybe returns), by the group's arc."""
        rng, days = self.rng, self.config.days
        via, source = _via(rng)
        joins_until = fade_day if fade_day is not None else days  # the declining stop recruiting
        if arc == "growing":
            if rng.random() < 0.1:  # friends invited on the founding day
                day = founded
            else:  # a rising inflow: the density of join days grows linearly
                day = founded + 1 + int((days - founded - 1) * math.sqrt(rng.random()))
                day = min(day, days - 1)
        elif joins_until > 0 and rng.random() < in_window:
            day = rng.randrange(0, joins_until)
        elif rng.random() < 0.25:  # the founding wave
            day = founded + rng.randint(1, 3)
        else:
            day = rng.randint(founded + 1, -1)
        # Nobody joins a group before its owner and admins (10:00–10:30 on the founding day).
        second = rng.uniform(11, 23) * 3600.0 if day == founded else chat_second(rng)
        stint = Stint(self.at(day, second), via=via, entry_source=source)
        stints = [stint]

        if seat.weight == 0 and 0 <= day < joins_until and rng.random() < 0.05:
            seat.spam = True  # an account that joins only to post an ad, and is kicked
            stint.join = self.at(day, rng.uniform(11, 20) * 3600.0)
            stint.leave = stint.join + rng.uniform(6, 120) * 60.0
            stint.kicked_by = kicker
            return stints

        hazard = LEAVE_HAZARD * (0.6 if arc == "growing" else 1.0)
        start = max(day, 0)
        leave_day = start + 1 + int(rng.expovariate(hazard))
        if fade_day is not None and leave_day >= days and rng.random() < 0.08:
            lo = max(fade_day, start + 1)
            if lo < days:
                leave_day = rng.randrange(lo, days)  # the 围城 starts to crack
        if leave_day >= days:
            return stints
        stint.leave = self.at(leave_day, chat_second(rng))
        if rng.random() < 0.05:
            stint.kicked_by = kicker  # cleared out by an admin
            return stints
        back = leave_day + rng.randint(2, 30)
        if rng.random() < 0.15 and back < joins_until:
            stints.append(Stint(self.at(back, chat_second(rng)), via=via, entry_source=source))
        return stints


def build_plan(config: SimConfig) -> Plan:
    """Decide everyone and everything that holds for the whole window."""
    return _Planner(config).build()
