"""How arrivals are received, on an event or on a tick: welcomes, name cards, lobby stays.

Each function applies one rule's pure logic to what that rule remembers (a ``States``
slot) and returns the actions to queue, keyed by what caused them; the processor calls them
for events, the ticker for time passing. The slots each rule keeps:

* a welcome rule: ``queue:<group id>`` — the newcomers waiting for the batch's welcome —
  and ``sent:<outbox key>`` for each welcome to delete once the platform has sent it;
* a name card format: ``card:<group id>:<member id>`` — a member whose card does not fit,
  and when they were last reminded;
* a lobby: ``member:<platform>:<user>`` for each member waiting in it (their stay and their
  self-introduction), ``promoted:<platform>:<user>`` once they have been promoted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shequn.core import Action, ActionType, Message
from shequn.features.admission import RuleError, is_chinese
from shequn.features.admission.join_request import Purchase
from shequn.features.admission.lobby import LobbyMember, LobbyRules, Need, lobby_status, promotion
from shequn.features.admission.namecard import CardFacts, CardFormat, card_limit, check, reminder
from shequn.features.admission.store import Loaded, Slot, States, state_key
from shequn.features.admission.welcome import (
    MAX_DELAY_S,
    Newcomer,
    WelcomeConfig,
    WelcomeQueue,
    drop,
    enqueue,
    flush,
)

#: How often a member whose card does not fit is reminded, and how many times at most:
#: one reminder a day for three days helps; a reminder every day forever is spam.
CARD_REMINDER_EVERY = timedelta(days=1)
MAX_CARD_REMINDERS = 3
#: A batch still waiting this long after it opened (the ticks stopped, the rule was off)
#: is dropped: a welcome a day late welcomes nobody.
STALE_WELCOME = timedelta(seconds=MAX_DELAY_S)


def bad_rule_notice(rule: Loaded, lang: str) -> Action:
    """Tell an operator that a stored rule no longer builds and is not applied; keyed by the
    rule's version, so each broken version is reported once however many events meet it."""
    stored = rule.stored
    lines = rule.error.lines(lang)[:3] if rule.error is not None else []
    if is_chinese(lang):
        head = f"规则「{stored.name}」（{stored.kind} #{stored.id}）无法加载，暂不生效："
    else:
        head = f"Rule “{stored.name}” ({stored.kind} #{stored.id}) cannot be loaded, not applied:"
    return Action(
        ActionType.NOTIFY_OPERATOR,
        message=Message.of("\n".join([head, *lines])),
        params={"rule_id": stored.id, "kind": stored.kind},
        reason=f"{stored.kind} rule {stored.id} cannot be loaded",
        key=f"admission:bad-rule:{stored.id}:{stored.updated_at.isoformat()}",
    )


# --- welcomes -----------------------------------------------------------------------------


def queue_slot(rule_id: int, group_id: int) -> Slot:
    return (rule_id, state_key("queue", group_id))


def sent_slot(rule_id: int, key: str) -> Slot:
    return (rule_id, state_key("sent", key))


def _queue(states: States, slot: Slot, platform: str, group: str, name: str) -> WelcomeQueue:
    stored = states.get(slot)
    if stored is not None:
        try:
            return WelcomeQueue.from_dict(stored)
        except RuleError:
            pass  # a queue that no longer reads starts afresh rather than blocking the group
    return WelcomeQueue(platform, group, name)


def _keep(states: States, slot: Slot, queue: WelcomeQueue) -> None:
    if queue.newcomers:
        states.put(slot, queue.to_dict())
    else:
        states.drop(slot)


def _keyed(states: States, rule_id: int, actions: Sequence[Action], key: str) -> list[Action]:
    """The welcome's actions keyed by ``key``; a welcome to be deleted later is remembered
    until the platform has sent it and said under which id."""
    out = []
    for n, action in enumerate(actions):
        keyed = action.with_key(key if n == 0 else f"{key}:{n}")
        if action.params.get("delete_after_s") is not None:
            states.put(sent_slot(rule_id, keyed.key or key), {"key": keyed.key})
        out.append(keyed)
    return out


def welcome_join(
    states: States,
    rule: Loaded,
    *,
    group_id: int,
    platform: str,
    group: str,
    group_name: str,
    newcomer: Newcomer,
    now: datetime,
    key: str,
    lang: str,
) -> list[Action]:
    """Add a newcomer to the group's batch; the welcome when the batch goes now."""
    config: WelcomeConfig = rule.logic
    slot = queue_slot(rule.id, group_id)
    queued = enqueue(
        _queue(states, slot, platform, group, group_name), newcomer, now, config, lang=lang
    )
    _keep(states, slot, queued.queue)
    return _keyed(states, rule.id, queued.actions, key)


def welcome_leave(states: States, rule: Loaded, *, group_id: int, user: str) -> None:
    """A newcomer who left before their welcome is not welcomed."""
    slot = queue_slot(rule.id, group_id)
    if states.get(slot) is not None:
        _keep(states, slot, drop(_queue(states, slot, "", "", ""), user))


def welcome_flush(
    states: States, rule: Loaded, slot: Slot, now: datetime, lang: str
) -> list[Action]:
    """The batch's welcome once its window has passed (keyed by the batch's opening)."""
    queue = _queue(states, slot, "", "", "")
    stale = queue.opened_at is not None and now - queue.opened_at > STALE_WELCOME
    if not queue.newcomers or not queue.group or stale:
        states.drop(slot)
        return []
    queued = flush(queue, now, rule.logic, lang=lang)
    if not queued.actions:
        return []
    opened = queue.opened_at.isoformat() if queue.opened_at is not None else now.isoformat()
    _keep(states, slot, queued.queue)
    return _keyed(states, rule.id, queued.actions, f"welcome:{rule.id}:{slot[1]}:{opened}")


# --- name cards ---------------------------------------------------------------------------


def card_slot(rule_id: int, group_id: int, member_id: int) -> Slot:
    return (rule_id, state_key("card", group_id, member_id))


@dataclass(frozen=True, slots=True)
class CardHolder:
    """A member whose card is checked: where, who, and what the platform shows now."""

    group_id: int
    member_id: int
    platform: str
    group: str
    user: str
    name: str
    number: int | None
    card: str


def card_due_at(entry: Mapping[str, Any]) -> datetime | None:
    """When a member reminded before may be reminded again; None once they have been
    reminded as often as they will be."""
    if int(entry.get("count", 0)) >= MAX_CARD_REMINDERS:
        return None
    return datetime.fromisoformat(entry["reminded_at"]) + CARD_REMINDER_EVERY


def card_check(
    states: States,
    rule: Loaded,
    holder: CardHolder,
    now: datetime,
    *,
    can_set_card: bool,
    key: str,
    lang: str,
) -> list[Action]:
    """Check the holder's card: a card that fits ends the reminders; one that does not
    gets a reminder (and the suggested card set, where the platform lets the bot) when
    one is due."""
    fmt: CardFormat = rule.logic
    facts = CardFacts(number=holder.number, values={"nickname": holder.name} if holder.name else {})
    limit = card_limit(holder.platform)
    result = check(holder.card, fmt, facts, limit=limit)
    slot = card_slot(rule.id, holder.group_id, holder.member_id)
    if result.ok:
        states.drop(slot)
        return []
    entry = states.get(slot)
    if entry is not None:
        due = card_due_at(entry)
        if due is None or now < due:
            return []
    actions = reminder(
        result,
        fmt,
        facts,
        platform=holder.platform,
        group=holder.group,
        user=holder.user,
        can_set_card=can_set_card,
        user_name=holder.name,
        limit=limit,
        lang=lang,
    )
    states.put(
        slot,
        {
            "group_id": holder.group_id,
            "member_id": holder.member_id,
            "platform": holder.platform,
            "group": holder.group,
            "user": holder.user,
            "name": holder.name,
            "reminded_at": now.isoformat(),
            "count": int((entry or {}).get("count", 0)) + 1,
        },
    )
    return [a.with_key(f"{key}:{n}") for n, a in enumerate(actions)]


# --- the lobby ----------------------------------------------------------------------------


def member_slot(rule_id: int, platform: str, user: str) -> Slot:
    return (rule_id, state_key("member", platform, user))


def promoted_slot(rule_id: int, platform: str, user: str) -> Slot:
    return (rule_id, state_key("promoted", platform, user))


def _stay(
    user: str, name: str, number: int | None, joined_at: datetime, member_id: int | None
) -> dict[str, Any]:
    return {
        "user": user,
        "member_id": member_id,
        "name": name,
        "number": number,
        "joined_at": joined_at.isoformat(),
        "intro": None,
    }


def lobby_join(
    states: States,
    rule: Loaded,
    *,
    user: str,
    name: str,
    number: int | None,
    joined_at: datetime,
    member_id: int | None,
) -> None:
    """A member entered the lobby: their stay starts (a repeated join keeps the stay)."""
    platform = rule.logic.lobby.platform
    slot = member_slot(rule.id, platform, user)
    if states.get(slot) is None:
        states.put(slot, _stay(user, name, number, joined_at, member_id))
    states.drop(promoted_slot(rule.id, platform, user))


def lobby_leave(states: States, rule: Loaded, *, user: str) -> None:
    """A member left the lobby (or was removed after promotion): their stay is over."""
    platform = rule.logic.lobby.platform
    states.drop(member_slot(rule.id, platform, user))
    states.drop(promoted_slot(rule.id, platform, user))


def introduces(rules: LobbyRules, text: str, now: datetime) -> bool:
    """Whether ``text`` meets the lobby's self-introduction rule."""
    probe = LobbyMember(user="", joined_at=now, messages=(text,))
    return any(r.need is Need.INTRO and r.met for r in lobby_status(rules, probe, now).requirements)


def lobby_message(
    states: States,
    rule: Loaded,
    *,
    user: str,
    name: str,
    number: int | None,
    joined_at: datetime,
    member_id: int | None,
    text: str,
    purchases: tuple[Purchase, ...] | None,
    now: datetime,
    lang: str,
) -> list[Action]:
    """A lobby member spoke: the first message that introduces them is kept, and they are
    promoted at once if that completes the lobby's rules. A member already in the lobby
    before the rule was made is tracked from their seat's join."""
    rules: LobbyRules = rule.logic
    slot = member_slot(rule.id, rules.lobby.platform, user)
    entry = states.get(slot)
    if entry is None:
        if states.get(promoted_slot(rule.id, rules.lobby.platform, user)) is not None:
            return []
        entry = _stay(user, name, number, joined_at, member_id)
        states.put(slot, entry)
    if not entry.get("intro") and introduces(rules, text, now):
        entry = {**entry, "intro": text}
        states.put(slot, entry)
    return promote(states, rule, slot, purchases, now, lang)


def promote(
    states: States,
    rule: Loaded,
    slot: Slot,
    purchases: tuple[Purchase, ...] | None,
    now: datetime,
    lang: str,
) -> list[Action]:
    """The member's promotion when they now meet every rule of the lobby; their stay is
    then marked promoted, so that it happens once."""
    rules: LobbyRules = rule.logic
    entry = states.get(slot)
    if entry is None:
        return []
    intro = entry.get("intro")
    member = LobbyMember(
        user=entry["user"],
        joined_at=datetime.fromisoformat(entry["joined_at"]),
        name=entry.get("name") or "",
        number=entry.get("number"),
        messages=(intro,) if isinstance(intro, str) and intro else (),
        purchases=purchases if rules.fee is not None else None,
    )
    promoted = promotion(rules, member, now, lang=lang)
    if promoted is None:
        return []
    states.drop(slot)
    states.put(
        promoted_slot(rule.id, rules.lobby.platform, member.user),
        {"user": member.user, "joined_at": entry["joined_at"], "promoted_at": now.isoformat()},
    )
    return list(promoted.actions)
