"""Member name cards (群名片) in the group's format: suggested, and reminded about.

The format and the platforms' length limits are ``namecard_format``'s; reading a card against
the format is ``namecard_check``'s. Here, ``suggest`` builds a card from what is known of the
member, within the platform's length limit, and ``reminder`` turns a failed check into a
reply or direct message to the member, and a SET_CARD where the platform lets the bot set
cards. Every public name of the three modules is importable from this one.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping

from shequn.core import Action, ActionType, Mention, Message
from shequn.features.admission import fold, is_chinese, visible
from shequn.features.admission.namecard_check import (
    CardCheck,
    CardFacts,
    CardProblem,
    Fault,
    check,
)
from shequn.features.admission.namecard_format import (
    CARD_LIMITS,
    LABELS,
    MAX_CHOICE,
    MAX_CHOICES,
    MAX_FORMAT,
    MAX_NUMBER_WIDTH,
    NO_LIMIT,
    NUMBER,
    PARTS,
    TEXT_PARTS,
    CardFormat,
    CardLimit,
    Token,
    card_limit,
)

#: Parts ``suggest`` shortens, in this order, when a card is too long.
_SHRINKABLE: tuple[str, ...] = ("nickname", "name", "company", "school", "industry", "city")
#: The zero-width joiner that holds emoji sequences (👩‍👩‍👧) together.
_ZWJ = "\u200d"


def _clean(value: str, separator: str, after_number: bool) -> str:
    """A member's value made safe for its place in the card: NFKC like the check, no
    control or format characters (but the joiner inside emoji sequences), single spaces, no
    separator characters, and no leading combining mark (it would fuse with the separator)
    nor, right after the number, a leading digit (it would read as part of the number)."""
    text = unicodedata.normalize("NFKC", value)
    text = "".join(
        ch for ch in text if unicodedata.category(ch)[0] != "C" or ch == _ZWJ or ch == " "
    )
    marks = set(separator.strip())
    if separator and not marks:
        text = "".join(text.split())
    elif marks:
        text = "".join(" " if ch in marks else ch for ch in text)
    text = " ".join(text.split())
    while text and (
        unicodedata.category(text[0])[0] == "M"
        or text[0] == _ZWJ
        or (after_number and (text[0].isdigit() or text[0].isspace()))
    ):
        text = text[1:]
    return unicodedata.normalize("NFKC", text).strip()


def _assemble(tokens: tuple[Token, ...], values: Mapping[str, str]) -> str:
    return "".join(values[t.part] if t.part is not None else t.literal for t in tokens)


def suggest(fmt: CardFormat, facts: CardFacts, *, limit: CardLimit = NO_LIMIT) -> str | None:
    """A card in ``fmt`` for the member, within ``limit``; None when a part cannot be
    filled (no number, no value, a value not among the choices) or the card cannot fit.
    Too long a card is shortened from the end of its free-text parts, nickname first."""
    tokens = fmt.tokens
    values: dict[str, str] = {}
    for index, token in enumerate(tokens):
        if token.part is None:
            continue
        if token.part == NUMBER:
            if facts.number is None or facts.number < 0:
                return None
            values[NUMBER] = str(facts.number).zfill(fmt.number_width)
            continue
        following = tokens[index + 1].literal if index + 1 < len(tokens) else ""
        after_number = index > 0 and tokens[index - 1].part == NUMBER
        value = _clean(facts.values.get(token.part, ""), following, after_number)
        allowed = fmt.allowed.get(token.part)
        if allowed is not None:
            value = allowed.get(fold(value), "")
        if not value:
            return None
        values[token.part] = value
    card = _assemble(tokens, values)
    if not limit.fits(card):
        card = _shrink(fmt, values, limit)
    if card is None or not check(card, fmt, facts, limit=limit).ok:
        return None
    return card


def _extends(ch: str) -> bool:
    """Characters that belong to the one before them on screen: combining marks, variation
    selectors, skin tones, emoji tag characters."""
    point = ord(ch)
    return (
        unicodedata.category(ch)[0] == "M"
        or 0xFE00 <= point <= 0xFE0F
        or 0x1F3FB <= point <= 0x1F3FF
        or 0xE0020 <= point <= 0xE007F
    )


def _regional(ch: str) -> bool:
    return 0x1F1E6 <= ord(ch) <= 0x1F1FF


def _without_last(text: str) -> str:
    """``text`` without its last visible character, so that shortening a name never leaves
    half an emoji: a ZWJ sequence (👩‍👩‍👧), a flag or a letter with its marks go whole."""
    i = len(text) - 1
    while i > 0:
        if _extends(text[i]):
            i -= 1
        elif text[i - 1] == _ZWJ:
            i -= 2
        elif _regional(text[i]) and _regional(text[i - 1]):
            i -= 1
            break
        else:
            break
    return text[: max(i, 0)].rstrip(" " + _ZWJ)


def _shrink(fmt: CardFormat, values: dict[str, str], limit: CardLimit) -> str | None:
    for part in _SHRINKABLE:
        if part not in values or part in fmt.allowed:
            continue
        while True:
            card = _assemble(fmt.tokens, values)
            if limit.fits(card):
                return card
            shorter = _without_last(values[part])
            if not shorter:
                break
            values[part] = shorter
    card = _assemble(fmt.tokens, values)
    return card if limit.fits(card) else None


def reminder(
    result: CardCheck,
    fmt: CardFormat,
    facts: CardFacts,
    *,
    platform: str,
    group: str,
    user: str,
    can_set_card: bool,
    message_id: str | None = None,
    user_name: str = "",
    limit: CardLimit = NO_LIMIT,
    lang: str = "zh-CN",
) -> tuple[Action, ...]:
    """What to do about a card that failed ``check``: nothing when it passed; else a reply to
    the member's message ``message_id`` (or, without one, a direct message) saying what is
    wrong and the suggested card, and — when ``can_set_card`` (the platform lets the bot set
    cards) and a card can be suggested — a SET_CARD that sets it."""
    if result.ok:
        return ()
    suggestion = suggest(fmt, facts, limit=limit)
    setting = can_set_card and suggestion is not None
    why = result.reason()
    card = visible(result.card, 60)
    if is_chinese(lang):
        text = f"你的群名片「{card}」不符合本群格式「{fmt.display(lang)}」：{why.zh}。"
        if suggestion is not None:
            text += f"已帮你改为「{suggestion}」。" if setting else f"建议改为「{suggestion}」。"
    else:
        text = f"Your group card “{card}” does not follow “{fmt.display(lang)}”: {why.en}."
        if suggestion is not None:
            done = "It has been set to" if setting else "Suggested:"
            text += f" {done} “{suggestion}”."
    log = f"name card format {fmt.id}: {why.en}"
    actions: list[Action] = []
    if setting:
        actions.append(
            Action(
                ActionType.SET_CARD,
                platform=platform,
                group=group,
                user=user,
                params={"card": suggestion},
                reason=log,
            )
        )
    if message_id is not None:
        said = Message.of(Mention(user=user, name=visible(user_name, 40) or None), " " + text)
        actions.append(
            Action(
                ActionType.REPLY,
                platform=platform,
                group=group,
                user=user,
                message=said,
                target_message=message_id,
                reason=log,
            )
        )
    else:
        actions.append(
            Action(
                ActionType.DIRECT_MESSAGE,
                platform=platform,
                group=group,
                user=user,
                message=Message.of(text),
                reason=log,
            )
        )
    return tuple(actions)


__all__ = [
    "CARD_LIMITS",
    "LABELS",
    "MAX_CHOICE",
    "MAX_CHOICES",
    "MAX_FORMAT",
    "MAX_NUMBER_WIDTH",
    "NO_LIMIT",
    "NUMBER",
    "PARTS",
    "TEXT_PARTS",
    "CardCheck",
    "CardFacts",
    "CardFormat",
    "CardLimit",
    "CardProblem",
    "Fault",
    "check",
    "card_limit",
    "reminder",
    "suggest",
]
