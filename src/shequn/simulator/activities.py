"""The day's rituals and activities beyond chat, as operators run them (seeds 000, 001, 003).

Welcomes for newcomers, titles awarded to active members, daily check-ins,
the weekly 分享会 with its announcement and attendance, the morning article
and who reads it, and purchases. Each function adds one group's events for
one day; in a declining group the leader's part fades with ``today.fade``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shequn.core.events import EventType
from shequn.simulator.rhythm import around, daytime_second, poisson

if TYPE_CHECKING:
    from shequn.simulator.plan import Stint
    from shequn.simulator.stream import GroupRun, Today

MESSAGE = EventType.MESSAGE


def welcome(
    run: GroupRun, today: Today, joined: list[tuple[float, int, Stint]], cum: list[float]
) -> None:
    """The newcomer may say hello; an admin welcomes them with an @ (most surely when they
    introduced themselves, less so as a declining group's leaders fade); others chime in."""
    rng, chat, gp, out, end = run.rng, run.chat, run.gp, today.out, today.end
    for ts, i, stint in joined:
        if i < gp.staff or gp.seats[i].spam or (stint.leave is not None and stint.leave < end):
            continue
        account, nick = run.who[i]
        intro_at = None
        if rng.random() < 0.3:
            intro_at = min(ts + rng.uniform(60, 1800), end)
            run.emit(out, intro_at, MESSAGE, i, message=chat.intro(nick))
            run.introduced.add(i)
        chance = 0.85 if intro_at is not None else 0.45
        host = run.staff_voice(chance * today.fade)
        if host is not None and host != i:
            at = min((intro_at or ts) + rng.uniform(30, 900), end)
            run.emit(out, at, MESSAGE, host, message=chat.welcome(account, nick))
            if cum[-1] > 0 and rng.random() < 0.3:
                fan = rng.choices(range(len(cum)), cum_weights=cum)[0]
                at = min(at + rng.uniform(10, 300), end)
                run.emit(out, at, MESSAGE, fan, message=chat.welcome_reply())


def award_titles(run: GroupRun, today: Today) -> None:
    """班长, 字幕侠…: an admin gives a member a title and announces it."""
    rng, out = run.rng, today.out
    for i, title in run.titles.pop(today.day, ()):
        if not run.present[i]:  # not in the group today: the award waits a few days
            if today.day + 3 < run.plan.calendar.days:
                run.titles.setdefault(today.day + 3, []).append((i, title))
            continue
        by = run.admins[int(rng.random() * len(run.admins))]
        at = today.start + daytime_second(rng)
        run.emit(out, at, EventType.MEMBER_UPDATE, i, {"title": title, "by": run.who[by][0]})
        account, nick = run.who[i]
        at = min(at + rng.uniform(5, 120), today.end)
        run.emit(out, at, MESSAGE, by, message=run.chat.award(account, nick, title))


def check_ins(run: GroupRun, today: Today) -> None:
    """The daily 打卡 of the members who keep a streak, around the topic's hour."""
    rng, seats, topic = run.rng, run.gp.seats, run.gp.topic
    for i in run.checkers:
        seat = seats[i]
        if not run.present[i] or rng.random() >= seat.checkin:
            continue
        if seat.silent_from is not None and today.day >= seat.silent_from:
            continue  # gone quiet in a declining group: the streak ends too
        at = min(today.start + max(0.0, around(rng, topic.checkin_hour, 90)), today.end)
        run.emit(today.out, at, EventType.CHECKIN, i, {"streak_key": topic.checkin})


def session_today(run: GroupRun, today: Today, weekday: int) -> tuple[float, float] | None:
    """The weekly talk's (start, end) if the group holds one today."""
    gp = run.gp
    if weekday != gp.session_weekday or today.day < gp.created_day + 7:
        return None
    if run.rng.random() >= today.fade:
        return None  # nobody organises it any more
    start = today.start + gp.session_hour * 3600.0
    return (start, start + 5400.0)


def weekly_talk(run: GroupRun, today: Today, session: tuple[float, float] | None) -> None:
    """The 分享会: announced in the afternoon with @all; attendance is recorded at the start."""
    if session is None:
        return
    rng, topic, out = run.rng, run.gp.topic, today.out
    run.sessions += 1
    title = f"第{run.sessions}期分享会：{topic.talks[run.sessions % len(topic.talks)]}"
    host = 0 if rng.random() < 0.6 else run.admins[int(rng.random() * len(run.admins))]
    at = today.start + rng.uniform(12, 18) * 3600.0
    run.emit(out, at, MESSAGE, host, message=run.chat.announce_session(run.gp.session_hour, title))
    session_id = f"{run.where[0]}-s{run.sessions:03d}"
    seen = set()
    for _ in range(poisson(rng, run.count * rng.uniform(0.06, 0.14))):
        i = run.random_present()
        if i is None or i in seen:
            continue
        seen.add(i)
        at = min(session[0] + rng.uniform(-300, 1200), today.end)
        run.emit(out, at, EventType.ATTEND, i, {"session": session_id, "title": title})


def morning_article(run: GroupRun, today: Today) -> None:
    """The morning post (早报) with a link; some members read it in the hours after."""
    poster = run.staff_voice(0.55 * today.fade)
    if poster is None or today.day <= run.gp.created_day:
        return
    rng, topic, out = run.rng, run.gp.topic, today.out
    stamp = run.plan.calendar.date(today.day).strftime("%Y%m%d")
    title = topic.articles[(today.day + run.index) % len(topic.articles)]
    url = f"https://example.com/{topic.key}/articles/{stamp}"
    at = today.start + rng.uniform(8, 10) * 3600.0
    run.emit(out, at, MESSAGE, poster, message=run.chat.article(title, url))
    article = f"{topic.key}-{stamp}"
    for _ in range(poisson(rng, run.count * 0.04)):
        i = run.random_present()
        if i is not None:
            read_at = min(at + rng.expovariate(1 / 5400.0), today.end)
            run.emit(out, read_at, EventType.READ, i, {"article": article, "url": url})


def purchases(run: GroupRun, today: Today) -> None:
    """Orders for the topic's products (trial cards at 9.9, courses at 99, bundles at 299…)."""
    rng, topic = run.rng, run.gp.topic
    stamp = run.plan.calendar.date(today.day).strftime("%Y%m%d")
    for _ in range(poisson(rng, run.count * 0.0015)):
        i = run.random_present()
        if i is None:
            continue
        product, amount = topic.products[int(rng.random() * len(topic.products))]
        run.shared.orders += 1
        order = f"{stamp}{run.index:04d}{run.shared.orders:07d}"
        payload = {"order_id": order, "amount": amount, "currency": "CNY", "product": product}
        run.emit(today.out, today.start + daytime_second(rng), EventType.PURCHASE, i, payload)
