"""Operator commands typed in chat: ``/mute @x 10m``, ``！警告 @x 刷屏``, ``/rules``.

Everything here is pure: the quoted message's author, the roles, the rules text and
the current time come in as arguments, so a command means the same on every platform
and the decisions can be pinned by tests. The service around it looks those up and
writes the returned actions to the outbox.

The flow is ``parse`` → ``authorize`` → ``to_actions``; a ``CommandError`` (the text
is not a valid command) or ``CommandDenied`` (the sender may not do it) on the way
becomes a reply through ``refusal``. ``respond`` runs the whole flow for one event.

Chat text is untrusted: reasons and titles are carried as data (a Text segment, an
action parameter), never interpreted, and every malformed command ends in a
``CommandError`` that tells the sender what was wrong and how to write it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from shequn.core import (
    Action,
    ActionType,
    Event,
    EventType,
    Mention,
    Message,
    Quote,
    Role,
    Segment,
)
from shequn.kit.errors import ShequnError
from shequn.kit.wording import Wording, echo, is_chinese

#: The characters that start a command; the full-width ！ is what a Chinese keyboard types.
PREFIXES: tuple[str, ...] = ("/", "!", "！")
#: A mute without a duration lasts this long.
DEFAULT_MUTE = timedelta(minutes=10)
#: The longest mute: QQ's own limit, and long enough that longer ones should be a ban.
MAX_MUTE = timedelta(days=30)
#: QQ's limit for a special title, the strictest of the platforms.
MAX_TITLE = 16
#: A reason is shown in the group; longer text is a message, not a reason.
MAX_REASON = 200
#: How much of a rejected word an error message repeats back.
_ECHO = 20


class Verb(StrEnum):
    MUTE = "mute"
    UNMUTE = "unmute"
    WARN = "warn"
    KICK = "kick"
    BAN = "ban"
    UNBAN = "unban"
    TITLE = "title"
    RULES = "rules"
    HELP = "help"


#: What the sender may type after the prefix, English words in any letter case.
ALIASES: Mapping[str, Verb] = MappingProxyType(
    {
        "mute": Verb.MUTE,
        "禁言": Verb.MUTE,
        "unmute": Verb.UNMUTE,
        "解禁": Verb.UNMUTE,
        "warn": Verb.WARN,
        "警告": Verb.WARN,
        "kick": Verb.KICK,
        "踢": Verb.KICK,
        "ban": Verb.BAN,
        "封禁": Verb.BAN,
        "unban": Verb.UNBAN,
        "解封": Verb.UNBAN,
        "title": Verb.TITLE,
        "头衔": Verb.TITLE,
        "rules": Verb.RULES,
        "群规": Verb.RULES,
        "help": Verb.HELP,
        "帮助": Verb.HELP,
    }
)

#: The lowest role that may use each verb.
MIN_ROLE: Mapping[Verb, Role] = MappingProxyType(
    {
        Verb.MUTE: Role.ADMIN,
        Verb.UNMUTE: Role.ADMIN,
        Verb.WARN: Role.ADMIN,
        Verb.KICK: Role.ADMIN,
        Verb.TITLE: Role.ADMIN,
        Verb.BAN: Role.OWNER,
        Verb.UNBAN: Role.OWNER,
        Verb.RULES: Role.MEMBER,
        Verb.HELP: Role.MEMBER,
    }
)

#: Verbs that act on one member, named by an @-mention or by replying to their message.
NEEDS_TARGET = frozenset(v for v in Verb if v not in (Verb.RULES, Verb.HELP))


#: The Chinese alias of each verb, used in Chinese usage lines and refusals.
_ZH_VERB: Mapping[Verb, str] = MappingProxyType(
    {verb: alias for alias, verb in ALIASES.items() if not alias.isascii()}
)

USAGE: Mapping[Verb, Wording] = MappingProxyType(
    {
        Verb.MUTE: Wording(
            "/mute @member [duration] [reason] (duration like 10m, 2h, 1h30m, 1d; "
            "default 10 minutes, at most 30 days)",
            "/禁言 @成员 [时长] [原因]"
            "（时长如 10分钟、2小时、1小时30分钟、1天；默认 10 分钟，最长 30 天）",
        ),
        Verb.UNMUTE: Wording("/unmute @member", "/解禁 @成员"),
        Verb.WARN: Wording("/warn @member [reason]", "/警告 @成员 [原因]"),
        Verb.KICK: Wording("/kick @member [reason]", "/踢 @成员 [原因]"),
        Verb.BAN: Wording("/ban @member [reason]", "/封禁 @成员 [原因]"),
        Verb.UNBAN: Wording("/unban @member", "/解封 @成员"),
        Verb.TITLE: Wording(
            f"/title @member <title, at most {MAX_TITLE} characters>",
            f"/头衔 @成员 <头衔，最多 {MAX_TITLE} 个字>",
        ),
        Verb.RULES: Wording("/rules (show the group rules)", "/群规（查看群规）"),
        Verb.HELP: Wording("/help (the commands you can use)", "/帮助（你可以使用的命令）"),
    }
)


class CommandProblem(ShequnError):
    """A command that will not be carried out; the reply to the sender says why.

    The text exists in both languages because the failure is found before anyone
    knows which language the reply will be in.
    """

    def __init__(self, en: str, zh: str, *, verb: Verb | None = None) -> None:
        super().__init__(en)
        self.wording = Wording(en, zh)
        self.verb = verb

    def text(self, lang: str) -> str:
        return self.wording.pick(lang)


class CommandError(CommandProblem):
    """The message names a command but is not a valid one (no target, bad duration…)."""


class CommandDenied(CommandProblem):
    """The sender's role does not allow the command, or not on that target."""


def _bad(verb: Verb, en: str, zh: str) -> CommandError:
    usage = USAGE[verb]
    return CommandError(f"{en}\nUsage: {usage.en}", f"{zh}\n用法：{usage.zh}", verb=verb)


# --- durations ----------------------------------------------------------------------------

_UNIT_SECONDS: Mapping[str, int] = MappingProxyType(
    {
        **dict.fromkeys(("s", "sec", "secs", "second", "seconds", "秒", "秒钟"), 1),
        **dict.fromkeys(("m", "min", "mins", "minute", "minutes", "分", "分钟"), 60),
        **dict.fromkeys(("h", "hr", "hrs", "hour", "hours", "时", "小时", "个小时"), 3600),
        **dict.fromkeys(("d", "day", "days", "天", "日"), 86400),
    }
)
_PART = re.compile(
    r"\s*([0-9]+)\s*("
    + "|".join(re.escape(u) for u in sorted(_UNIT_SECONDS, key=len, reverse=True))
    + ")"
)
#: More digits than this is beyond any cap in any unit; not worth converting.
_MAX_DIGITS = 12
#: The most words a written-out duration takes: "1 day 2 hours 30 minutes 5 seconds".
_MAX_DURATION_WORDS = 8
_DURATION_HELP = Wording(
    "write it like 10m, 2h, 1h30m, 1d or 30s", "请写成 10分钟、2小时、1小时30分钟、1天 或 30秒"
)


def _seconds(text: str) -> int:
    """The exact number of seconds ``text`` names; at least one.

    Accepts unit parts in any order, each unit at most once, with or without spaces
    (``1h30m``, ``1 小时 30 分钟``), full-width digits, and a bare number as minutes.
    """
    raw = unicodedata.normalize("NFKC", text).strip().lower()
    shown = echo(text.strip(), _ECHO)
    if not raw:
        raise CommandError(
            f"The duration is empty; {_DURATION_HELP.en}.", f"时长为空，{_DURATION_HELP.zh}。"
        )
    if raw[0] in "-−":
        raise CommandError(
            f"The duration “{shown}” is negative; it must be longer than zero.",
            f"时长“{shown}”是负数，必须大于零。",
        )
    if raw.isascii() and raw.isdigit():
        total = _number(raw) * 60
    else:
        total, pos, seen = 0, 0, set()
        while pos < len(raw):
            part = _PART.match(raw, pos)
            if part is None:
                raise CommandError(
                    f"“{shown}” is not a duration; {_DURATION_HELP.en}.",
                    f"“{shown}”不是有效的时长，{_DURATION_HELP.zh}。",
                )
            unit = _UNIT_SECONDS[part[2]]
            if unit in seen:
                raise CommandError(
                    f"The duration “{shown}” names the same unit twice; {_DURATION_HELP.en}.",
                    f"时长“{shown}”重复使用了同一个单位，{_DURATION_HELP.zh}。",
                )
            seen.add(unit)
            total += _number(part[1]) * unit
            pos = part.end()
    if total <= 0:
        raise CommandError(
            f"The duration “{shown}” is zero; it must be longer than zero.",
            f"时长“{shown}”为零，必须大于零。",
        )
    return total


def _number(digits: str) -> int:
    return int(digits) if len(digits) <= _MAX_DIGITS else 10**_MAX_DIGITS


def parse_duration(text: str, *, cap: timedelta = MAX_MUTE) -> timedelta:
    """The duration ``text`` names (``10m``, ``1h30m``, ``2小时``, ``1 day``), at most ``cap``.

    Raises CommandError for empty, zero, negative or unreadable text.
    """
    return min(timedelta(seconds=_seconds(text)), cap)


_EN_UNITS = (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))
_ZH_UNITS = (("天", 86400), ("小时", 3600), ("分钟", 60), ("秒", 1))


def format_duration(duration: timedelta, lang: str) -> str:
    """``10 分钟``, ``1 小时 30 分钟``, ``1 day 2 hours``: whole seconds, largest units first,
    in a form ``parse_duration`` reads back."""
    left = max(int(duration.total_seconds()), 0)
    parts = []
    for (en, size), (zh, _) in zip(_EN_UNITS, _ZH_UNITS, strict=True):
        count, left = divmod(left, size)
        if count:
            if is_chinese(lang):
                parts.append(f"{count} {zh}")
            else:
                parts.append(f"{count} {en}" + ("" if count == 1 else "s"))
    if not parts:
        return "0 秒" if is_chinese(lang) else "0 seconds"
    return " ".join(parts)


# --- parsing ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Command:
    """A parsed command. ``target`` is the platform id of the member it acts on; ``text`` is
    the reason (mute, warn, kick, ban, unmute, unban) or the title (title)."""

    verb: Verb
    target: str | None = None
    target_name: str | None = None
    duration: timedelta | None = None
    capped: bool = False
    text: str = ""


def _flatten(message: Message) -> tuple[list[str | Mention], str | None]:
    """The message as text runs and mentions of one account, plus the first quoted message
    id. Segments that are neither show as their plain text; so does an @everyone."""
    pieces: list[str | Mention] = []
    quoted: str | None = None
    for segment in message.segments:
        if isinstance(segment, Quote):
            if quoted is None and segment.message_id:
                quoted = str(segment.message_id)
        elif isinstance(segment, Mention) and not segment.everyone:
            pieces.append(segment)
        elif pieces and isinstance(pieces[-1], str):
            pieces[-1] += _plain(segment)
        else:
            pieces.append(_plain(segment))
    return pieces, quoted


def _plain(segment: Segment) -> str:
    text = segment.plain()
    return text if isinstance(text, str) else ""


def _read_verb(
    head: str, prefixes: tuple[str, ...], addressed_to: str | None
) -> tuple[Verb, str] | None:
    """The verb at the start of ``head`` and the text after it, or None when ``head`` is not
    one of this bot's commands."""
    head = head.lstrip()
    prefix = next((p for p in prefixes if p and head.startswith(p)), None)
    if prefix is None:
        return None
    rest = head[len(prefix) :]
    word = re.match(r"\S+", rest)
    if word is None:
        return None
    name, at, addressee = word[0].partition("@")
    if at:
        # Telegram writes /mute@somebot in groups: only answer commands meant for this bot.
        wanted = (addressed_to or "").lstrip("@").casefold()
        if not wanted or addressee.casefold() != wanted:
            return None
    verb = ALIASES.get(name.casefold())
    if verb is None:
        return None
    return verb, rest[word.end() :]


def parse(
    message: Message,
    *,
    prefixes: tuple[str, ...] = PREFIXES,
    resolve_quote: Callable[[str], str | None] | None = None,
    addressed_to: str | None = None,
) -> Command | None:
    """The command in ``message``, or None when it is not one of ours.

    A command is text starting with a prefix and a known verb (a leading reply quote is
    fine). An unknown verb is None, not an error: it may be another bot's command, as is
    a Telegram-style ``/mute@otherbot`` (only ``addressed_to``, this bot's username, is
    answered). The target is the first @-mention after the verb; without one, a command
    sent as a reply targets the quoted message's author, found by ``resolve_quote``
    (message id → author id) because only the caller can look it up.

    Raises CommandError when the verb is known but the rest is wrong.
    """
    pieces, quoted = _flatten(message)
    if not pieces or not isinstance(pieces[0], str):
        return None
    found = _read_verb(pieces[0], prefixes, addressed_to)
    if found is None:
        return None
    verb, rest = found
    if verb not in NEEDS_TARGET:
        return Command(verb)
    texts = [rest]
    target: Mention | None = None
    for piece in pieces[1:]:
        if isinstance(piece, Mention) and target is None:
            target = piece
        else:
            texts.append(piece if isinstance(piece, str) else _plain(piece))
    text = "".join(texts)
    user, name = _target(verb, target, quoted, resolve_quote)
    if verb is Verb.MUTE:
        return _mute(user, name, text)
    if verb is Verb.TITLE:
        return _title(user, name, text)
    return Command(verb, user, name, text=_reason(verb, text))


def _target(
    verb: Verb,
    mention: Mention | None,
    quoted: str | None,
    resolve_quote: Callable[[str], str | None] | None,
) -> tuple[str, str | None]:
    if mention is not None:
        if not mention.user:
            who = echo(mention.name or "", _ECHO)
            raise _bad(
                verb,
                f"Cannot tell who @{who} is; pick them from the mention list "
                "or reply to one of their messages.",
                f"无法确定 @{who} 是谁；请从 @ 列表中选择成员，或回复对方的消息。",
            )
        return str(mention.user), mention.name or None
    if quoted is not None:
        author = resolve_quote(quoted) if resolve_quote is not None else None
        if not author:
            raise _bad(
                verb,
                "Cannot find who wrote the message you replied to; @mention them instead.",
                "找不到被回复消息的发送者，请改用 @ 指定成员。",
            )
        return str(author), None
    raise _bad(
        verb,
        "Say whom the command is for: @mention them or reply to their message.",
        "请指定成员：@ 对方，或回复对方的消息。",
    )


def _reason(verb: Verb, text: str) -> str:
    reason = text.strip()
    if len(reason) > MAX_REASON:
        raise _bad(
            verb,
            f"The reason is {len(reason)} characters long; at most {MAX_REASON} fit.",
            f"原因有 {len(reason)} 个字，最多 {MAX_REASON} 个字。",
        )
    return reason


def _mute(user: str, name: str | None, text: str) -> Command:
    """A mute's text is an optional duration, which may be written as several words
    (``1 小时 30 分钟``), then an optional reason; the longest run of leading words that
    reads as a duration is the duration."""
    words = text.split()
    if not words:
        return Command(Verb.MUTE, user, name, DEFAULT_MUTE)
    count, seconds = _leading_duration(words)
    rest = text.strip()
    for word in words[:count]:
        rest = rest[rest.index(word) + len(word) :]
    capped = seconds > MAX_MUTE.total_seconds()
    duration = MAX_MUTE if capped else timedelta(seconds=seconds)
    return Command(Verb.MUTE, user, name, duration, capped, _reason(Verb.MUTE, rest))


def _leading_duration(words: list[str]) -> tuple[int, int]:
    """How many leading words make the longest duration, and its seconds."""
    for count in range(min(len(words), _MAX_DURATION_WORDS), 1, -1):
        try:
            return count, _seconds(" ".join(words[:count]))
        except CommandError:
            continue
    try:
        return 1, _seconds(words[0])
    except CommandError as error:
        raise _bad(Verb.MUTE, error.wording.en, error.wording.zh) from None


def _title(user: str, name: str | None, text: str) -> Command:
    title = text.strip()
    if not title:
        raise _bad(Verb.TITLE, "Write the title after the member.", "请在成员后面写上头衔。")
    if len(title) > MAX_TITLE:
        raise _bad(
            Verb.TITLE,
            f"The title is {len(title)} characters long; at most {MAX_TITLE} fit.",
            f"头衔有 {len(title)} 个字，最多 {MAX_TITLE} 个字。",
        )
    return Command(Verb.TITLE, user, name, text=title)


# --- permission ---------------------------------------------------------------------------


def _slash(verb: Verb, lang_zh: bool) -> str:
    return "/" + (_ZH_VERB[verb] if lang_zh else verb.value)


def may_use(role: Role, verb: Verb) -> bool:
    return role.rank >= MIN_ROLE[verb].rank


def authorize(
    command: Command, sender_role: Role, target_role: Role | None, *, sender: str | None
) -> None:
    """Raise CommandDenied unless ``sender`` (a platform id) with ``sender_role`` may run it.

    Members may ask for the rules and help; admins and the owner mute, unmute, warn,
    kick and set titles; only the owner bans and unbans. Nobody acts on themselves or on
    someone of equal or higher rank. ``target_role`` None means the target holds no
    known role in the group (e.g. they already left), which ranks as a member.
    """
    verb = command.verb
    if not may_use(sender_role, verb):
        who = Wording("the group owner", "群主")
        if MIN_ROLE[verb] is Role.ADMIN:
            who = Wording("group admins and the owner", "群主和管理员")
        raise CommandDenied(
            f"Only {who.en} can use {_slash(verb, False)}.",
            f"只有{who.zh}可以使用 {_slash(verb, True)}。",
            verb=verb,
        )
    if verb not in NEEDS_TARGET:
        return
    if sender is not None and command.target == sender:
        raise CommandDenied(
            f"You cannot use {_slash(verb, False)} on yourself.",
            f"不能对自己使用 {_slash(verb, True)}。",
            verb=verb,
        )
    if (target_role or Role.MEMBER).rank >= sender_role.rank:
        raise CommandDenied(
            f"You cannot use {_slash(verb, False)} on someone whose rank is equal to "
            "or above yours.",
            f"不能对与你同级或级别更高的成员使用 {_slash(verb, True)}。",
            verb=verb,
        )


# --- actions ------------------------------------------------------------------------------


def _message_id(event: Event) -> str | None:
    value = event.payload.get("message_id")
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        return None
    return str(value)


def _answer(
    event: Event,
    message: Message,
    *,
    reason: str,
    user: str | None = None,
    params: Mapping[str, Any] | None = None,
) -> list[Action]:
    """A reply to the command's own message; a plain group message when the event carries
    no message id to reply to, a direct message when it did not come from a group."""
    common: dict[str, Any] = {
        "platform": event.platform,
        "message": message,
        "reason": reason,
        "params": dict(params or {}),
    }
    message_id = _message_id(event)
    if event.group is not None:
        kind = ActionType.REPLY if message_id is not None else ActionType.SEND_MESSAGE
        return [Action(kind, group=event.group, user=user, target_message=message_id, **common)]
    if event.actor is not None:
        return [Action(ActionType.DIRECT_MESSAGE, user=event.actor, **common)]
    return []


def _why(verb: Verb | None, event: Event) -> str:
    sender = event.actor or "unknown"
    return f"command /{verb.value} by {sender}" if verb else f"command by {sender}"


def _say(lang: str, en: list[Segment | str], zh: list[Segment | str]) -> Message:
    return Message.of(*(zh if is_chinese(lang) else en))


def to_actions(
    command: Command,
    *,
    event: Event,
    rules_text: str | None,
    now: datetime,
    lang: str = "zh-CN",
    sender_role: Role = Role.MEMBER,
) -> list[Action]:
    """What an authorized command does, and the reply that confirms it in ``lang``.

    ``sender_role`` decides what ``help`` lists. A mute's ``params["until"]`` is when it
    ends (``now`` + duration, ISO 8601 UTC). A warning is a reply mentioning the target
    with ``params={"warning": True, "reason": ...}``, which the moderation feature counts.
    Moderation needs a group: in a direct chat it raises CommandError.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    verb = command.verb
    reason = _why(verb, event)
    if verb is Verb.RULES:
        rules = (rules_text or "").strip()
        none_yet = Wording("No group rules have been set yet.", "本群尚未设置群规。")
        return _answer(event, Message.of(rules or none_yet.pick(lang)), reason=reason)
    if verb is Verb.HELP:
        return _answer(event, _help(sender_role, lang), reason=reason)
    if event.group is None:
        raise CommandError(
            f"{_slash(verb, False)} works only in a group.",
            f"{_slash(verb, True)} 只能在群里使用。",
            verb=verb,
        )
    if command.target is None:
        raise _bad(verb, "Say whom the command is for.", "请指定成员。")
    target = Mention(user=command.target, name=command.target_name)
    act: dict[str, Any] = {
        "platform": event.platform,
        "group": event.group,
        "user": command.target,
        "reason": reason,
    }
    note = command.text
    because = Wording(f" Reason: {note}" if note else "", f"，原因：{note}" if note else "")
    if verb is Verb.WARN:
        told = Wording(note or "please follow the group rules.", note or "请遵守群规。")
        said = _say(lang, [target, " Warning: ", told.en], [target, " 警告：", told.zh])
        params = {"warning": True, "reason": note}
        return _answer(event, said, reason=reason, user=command.target, params=params)
    if verb is Verb.MUTE:
        duration = command.duration or DEFAULT_MUTE
        until = (now + duration).astimezone(UTC).isoformat()
        done = Action(ActionType.MUTE, duration=duration, params={"until": until}, **act)
        longest = format_duration(MAX_MUTE, lang)
        cap = Wording(
            f" (the longest allowed is {longest})" if command.capped else "",
            f"（最长 {longest}）" if command.capped else "",
        )
        span = format_duration(duration, lang)
        said = _say(
            lang,
            ["Muted ", target, f" for {span}{cap.en}.{because.en}"],
            ["已禁言 ", target, f" {span}{cap.zh}{because.zh}"],
        )
    elif verb is Verb.UNMUTE:
        done = Action(ActionType.UNMUTE, **act)
        said = _say(
            lang,
            ["Unmuted ", target, f".{because.en}"],
            ["已解除 ", target, f" 的禁言{because.zh}"],
        )
    elif verb is Verb.KICK:
        done = Action(ActionType.KICK, **act)
        said = _say(
            lang,
            ["Removed ", target, f" from the group.{because.en}"],
            ["已将 ", target, f" 移出本群{because.zh}"],
        )
    elif verb is Verb.BAN:
        done = Action(ActionType.BAN, **act)
        said = _say(lang, ["Banned ", target, f".{because.en}"], ["已封禁 ", target, because.zh])
    elif verb is Verb.UNBAN:
        done = Action(ActionType.UNBAN, **act)
        said = _say(lang, ["Unbanned ", target, f".{because.en}"], ["已解封 ", target, because.zh])
    else:
        done = Action(ActionType.SET_TITLE, params={"title": command.text}, **act)
        said = _say(
            lang,
            ["Set the title of ", target, " to “", command.text, "”."],
            ["已将 ", target, " 的头衔设为「", command.text, "」"],
        )
    return [done, *_answer(event, said, reason=reason, user=command.target)]


def _help(role: Role, lang: str) -> Message:
    zh = is_chinese(lang)
    lines = [USAGE[verb].pick(lang) for verb in Verb if may_use(role, verb)]
    head = "你可以使用的命令：" if zh else "Commands you can use:"
    return Message.of("\n".join([head, *lines]))


def refusal(error: CommandProblem, event: Event, lang: str = "zh-CN") -> list[Action]:
    """The reply to a command that will not run: the problem, in the sender's language."""
    return _answer(event, Message.of(error.text(lang)), reason=_why(error.verb, event))


def respond(
    event: Event,
    *,
    sender_role: Role,
    role_of: Callable[[str], Role | None],
    rules_text: str | None,
    now: datetime,
    lang: str = "zh-CN",
    prefixes: tuple[str, ...] = PREFIXES,
    resolve_quote: Callable[[str], str | None] | None = None,
    addressed_to: str | None = None,
) -> list[Action]:
    """Every action one event's command causes: the command's actions and reply, a refusal
    for a bad or denied command, nothing for an event that is not a command.
    ``role_of`` maps a platform user id to their role in the event's group."""
    if event.type is not EventType.MESSAGE or event.message is None:
        return []
    try:
        command = parse(
            event.message,
            prefixes=prefixes,
            resolve_quote=resolve_quote,
            addressed_to=addressed_to,
        )
        if command is None:
            return []
        target_role = role_of(command.target) if command.target is not None else None
        authorize(command, sender_role, target_role, sender=event.actor)
        return to_actions(
            command,
            event=event,
            rules_text=rules_text,
            now=now,
            lang=lang,
            sender_role=sender_role,
        )
    except CommandProblem as problem:
        return refusal(problem, event, lang)
