"""Moderation rules: what a message breaks, and what happens to it and its sender.

Everything here is pure. The caller passes in the policy, the message (with the sender's
role, tier and join time), the sender's recent history and ``now``; ``moderate`` returns a
``Decision`` carrying the actions and the sender's new warnings list, or None. Storing
history and warnings, and carrying the actions out, belong to the service around it.

Order of evaluation, for each message:

1. The blacklist (``blacklisted``) is the caller's first check: a blacklisted sender is
   removed (``blacklist_removals``) and ``moderate`` is not called.
2. ``moderate`` tries the policy's rules in the order the operator arranged them. Disabled
   rules and rules the sender is exempt from (by role or tier) are skipped; the first rule
   that matches decides, and no later rule is tried. A sensible arrangement puts the
   certain, cheap rules first (flood, repeat, new-member limits), then content rules
   (banned words, invites, links, phone numbers, QR codes, patterns) and the advertising
   score, the fuzziest, last.
3. A rule's sanctions are applied together: delete the message (and, for a repeat across
   groups, its copies), then the one member sanction, then the warning notice. When the
   rule warns, the warning ladder may add a step; the member gets the most severe of the
   rule's and the ladder's sanctions (a mute < a kick < a ban; of two mutes, the longer).

Night mode and mute-all windows are separate: ``window_actions`` is called on each tick of
the scheduler and returns MUTE_ALL / UNMUTE_ALL at the edges. ``undo_plan`` turns a logged
decision's actions back (unmute, unban) and says what cannot be undone.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta, tzinfo
from enum import StrEnum
from typing import Any, ClassVar, NamedTuple, Self, cast

from shequn.core import Action, ActionType, Event, EventType, Mention, Message, Role
from shequn.features.moderation.detect import (
    AD_WORDS,
    IndexFactory,
    Lexicon,
    LoopIndex,
    RuleError,
    Scanned,
    Wording,
    ad_score,
    compile_pattern,
    echo,
    find_banned,
    find_invite,
    find_link,
    find_pattern,
    find_phone,
    find_qr,
    is_chinese,
    pattern_problems,
)
from shequn.features.moderation.ladder import (
    MAX_MUTE,
    Ladder,
    Penalty,
    Step,
    escalate,
    mute_problems,
    span,
)
from shequn.features.templating.logic import Template, TemplateError, fill, parse
from shequn.kit.timeutil import zone as zone_named

#: Roles exempt from every rule unless the rule says otherwise.
DEFAULT_EXEMPT: frozenset[Role] = frozenset({Role.OWNER, Role.ADMIN})
#: The variables a rule's own warning notice may use.
NOTICE_VARIABLES = ("name", "rule", "count")
#: The longest time window a flood or repeat rule may look back over; it bounds the
#: history the caller has to keep.
MAX_LOOKBACK = timedelta(days=1)
#: The longest a member counts as new: 90 days.
MAX_NEW_HOURS = 90 * 24
#: How much of the matched text a decision keeps for the log.
MAX_MATCHED = 200


class Sanction(StrEnum):
    """What a rule does to a message and its sender; several combine (delete + warn)."""

    DELETE = "delete"
    WARN = "warn"
    MUTE = "mute"
    KICK = "kick"
    BAN = "ban"


def _aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")


# --- what the logic is given ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MessageContext:
    """The message being moderated and what is known about its sender in that group.

    ``joined_at`` None means the join time is unknown (members imported from history):
    they are not treated as new.
    """

    platform: str
    group: str
    actor: str
    text: str
    message_id: str | None = None
    has_qr: bool = False
    role: Role = Role.MEMBER
    tier: str | None = None
    joined_at: datetime | None = None
    name: str | None = None

    def __post_init__(self) -> None:
        if self.joined_at is not None:
            _aware(self.joined_at, "joined_at")


def context_of(
    event: Event,
    *,
    role: Role = Role.MEMBER,
    tier: str | None = None,
    joined_at: datetime | None = None,
    has_qr: bool = False,
) -> MessageContext | None:
    """The context of a message event in a group; None for anything moderation skips
    (other event types, direct messages, messages without a sender)."""
    if event.type is not EventType.MESSAGE or event.group is None or event.actor is None:
        return None
    message_id = event.payload.get("message_id")
    valid_id = isinstance(message_id, str | int) and not isinstance(message_id, bool)
    return MessageContext(
        platform=event.platform,
        group=event.group,
        actor=event.actor,
        text=event.text,
        message_id=str(message_id) if valid_id and message_id != "" else None,
        has_qr=has_qr,
        role=role,
        tier=tier,
        joined_at=joined_at,
        name=event.actor_name,
    )


@dataclass(frozen=True, slots=True)
class Seen:
    """One earlier message of the sender: its normalised text, where and when."""

    platform: str
    group: str
    text: str
    at: datetime
    message_id: str | None = None


@dataclass(frozen=True, slots=True)
class History:
    """The sender's recent messages (any group) and warnings (times, any order)."""

    messages: tuple[Seen, ...] = ()
    warnings: tuple[datetime, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "messages": [
                {
                    "platform": m.platform,
                    "group": m.group,
                    "text": m.text,
                    "at": m.at.isoformat(),
                    **({"message_id": m.message_id} if m.message_id is not None else {}),
                }
                for m in self.messages
            ],
            "warnings": [w.isoformat() for w in self.warnings],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> History:
        """Raises ValueError (or KeyError) for malformed stored state."""
        messages = tuple(
            Seen(
                platform=str(m["platform"]),
                group=str(m["group"]),
                text=str(m["text"]),
                at=_instant(m["at"]),
                message_id=None if m.get("message_id") is None else str(m["message_id"]),
            )
            for m in data.get("messages", [])
        )
        warnings = tuple(_instant(w) for w in data.get("warnings", []))
        return cls(messages, warnings)


def _instant(value: Any) -> datetime:
    parsed = datetime.fromisoformat(str(value))
    _aware(parsed, "a stored time")
    return parsed


def remember(
    history: History, message: MessageContext, now: datetime, *, keep: timedelta
) -> History:
    """The history after ``message``: it is added (normalised), and messages older than
    ``keep`` (see ``Policy.lookback``) are dropped."""
    _aware(now, "now")
    seen = Seen(
        message.platform, message.group, Scanned(message.text).normal, now, message.message_id
    )
    kept = tuple(m for m in history.messages if now - m.at < keep)
    return History((*kept, seen), history.warnings)


# --- rule checks ---------------------------------------------------------------------------


class Hit(NamedTuple):
    """A check's finding: the matched text and why it breaks the rule. ``copies`` are
    earlier copies of the message elsewhere, as (platform, group, message id)."""

    matched: str
    reason: Wording
    copies: tuple[tuple[str, str, str], ...] = ()


class _Reader:
    """Reads a rule's stored dict, collecting every problem instead of stopping at one.

    A field of the wrong type reads as its default, so a later semantic check does not
    report the same field twice.
    """

    def __init__(self, data: Any, prefix: str = "") -> None:
        self.data: Mapping[str, Any] = data if isinstance(data, Mapping) else {}
        self.prefix = prefix
        self.problems: list[Wording] = []
        self.asked: set[str] = set()
        if not isinstance(data, Mapping):
            self.problems.append(
                Wording(
                    f"{prefix or 'the rule'} must be an object", f"{prefix or '规则'}必须是对象"
                )
            )

    def get(self, key: str, default: Any = None) -> Any:
        self.asked.add(key)
        return self.data.get(key, default)

    def unknown(self) -> list[Wording]:
        """Fields nobody asked for: a misspelt name would otherwise be silently ignored."""
        where = f"{self.prefix}." if self.prefix else ""
        return [
            Wording(
                f"unknown field '{where}{echo(str(key))}'", f"未知的字段 {where}{echo(str(key))}"
            )
            for key in self.data
            if key not in self.asked
        ]

    def _bad(self, key: str, en: str, zh: str) -> None:
        value = echo(repr(self.data.get(key)))
        name = f"{self.prefix}.{key}" if self.prefix else key
        self.problems.append(
            Wording(f"'{name}' must be {en}, not {value}", f"{name} 必须是{zh}，而不是 {value}")
        )

    def text(self, key: str, default: str | None = None) -> str | None:
        value = self.get(key, default)
        if value is None or isinstance(value, str):
            return value
        self._bad(key, "text", "文本")
        return default

    def texts(self, key: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
        value = self.get(key, default)
        if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
            return tuple(value)
        self._bad(key, "a list of texts", "文本列表")
        return default

    def whole(self, key: str, default: int) -> int:
        value = self.get(key, default)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        self._bad(key, "a whole number", "整数")
        return default

    def number(self, key: str, default: float) -> float:
        value = self.get(key, default)
        if isinstance(value, int | float) and not isinstance(value, bool) and value == value:
            return float(value)
        self._bad(key, "a number", "数字")
        return default

    def flag(self, key: str, default: bool) -> bool:
        value = self.get(key, default)
        if isinstance(value, bool):
            return value
        self._bad(key, "true or false", "true 或 false")
        return default

    def weights(self, key: str, default: Mapping[str, int]) -> dict[str, int]:
        value = self.get(key, default)
        if isinstance(value, Mapping) and all(
            isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool)
            for k, v in value.items()
        ):
            return dict(value)
        self._bad(key, "an object of word → whole-number weight", "“词 → 整数权重”的对象")
        return dict(default)


def _positive_seconds(seconds: float, what: Wording) -> list[Wording]:
    if seconds <= 0:
        return [Wording(f"{what.en} must be longer than zero", f"{what.zh}必须大于零")]
    if seconds > MAX_LOOKBACK.total_seconds():
        most = span(MAX_LOOKBACK, "en"), span(MAX_LOOKBACK, "zh")
        return [Wording(f"{what.en} is at most {most[0]}", f"{what.zh}最长 {most[1]}")]
    return []


@dataclass(frozen=True)
class BannedWords:
    """A list of words, matched on normalised text (``微 信`` and ``V.X`` included).

    ``index_factory`` builds the search: the plain loop by default, a compiled automaton
    for long lists.
    """

    words: tuple[str, ...]
    index_factory: IndexFactory = field(default=LoopIndex, compare=False, repr=False)
    lexicon: Lexicon = field(init=False, compare=False, repr=False)
    kind: ClassVar[str] = "banned_words"

    def __post_init__(self) -> None:
        object.__setattr__(self, "words", tuple(self.words))
        object.__setattr__(self, "lexicon", Lexicon(self.words, self.index_factory))

    def problems(self) -> list[Wording]:
        if not self.words:
            return [Wording("the word list is empty", "违禁词列表为空")]
        return [
            Wording(
                f"“{echo(word)}” has no letters or digits, so it can never match",
                f"“{echo(word)}”不含文字或数字，永远不会命中",
            )
            for word in self.lexicon.empty
        ]

    def params(self) -> dict[str, Any]:
        return {"words": list(self.words)}

    @classmethod
    def read(cls, reader: _Reader) -> BannedWords:
        return cls(reader.texts("words"))

    def match(
        self, message: MessageContext, scanned: Scanned, history: History, now: datetime
    ) -> Hit | None:
        word = find_banned(scanned, self.lexicon)
        if word is None:
            return None
        return Hit(word, Wording(f"contains the banned word “{word}”", f"包含违禁词“{word}”"))


def _domain_problems(domains: Sequence[str]) -> list[Wording]:
    bad = [d for d in domains if not d.strip(". ") or any(c in d for c in " /:@")]
    return [
        Wording(
            f"“{echo(d)}” is not a domain (write it like example.com)",
            f"“{echo(d)}”不是域名（请写成 example.com 的形式）",
        )
        for d in bad
    ]


@dataclass(frozen=True)
class Links:
    """Any link: ``https://…``, ``www.…``, a bare ``abc.cn/x``. ``allow`` lists domains (and
    their subdomains) that may be posted, such as the community's own site."""

    allow: tuple[str, ...] = ()
    kind: ClassVar[str] = "links"

    def __post_init__(self) -> None:
        object.__setattr__(self, "allow", tuple(self.allow))

    def problems(self) -> list[Wording]:
        return _domain_problems(self.allow)

    def params(self) -> dict[str, Any]:
        return {"allow": list(self.allow)}

    @classmethod
    def read(cls, reader: _Reader) -> Links:
        return cls(reader.texts("allow"))

    def match(
        self, message: MessageContext, scanned: Scanned, history: History, now: datetime
    ) -> Hit | None:
        link = find_link(scanned, self.allow)
        if link is None:
            return None
        return Hit(link, Wording(f"contains a link ({echo(link)})", f"包含链接（{echo(link)}）"))


class _Fixed:
    """A check configured by its kind alone: nothing to set, nothing to get wrong."""

    def problems(self) -> list[Wording]:
        return []

    def params(self) -> dict[str, Any]:
        return {}

    @classmethod
    def read(cls, reader: _Reader) -> Self:
        return cls()


@dataclass(frozen=True)
class Invites(_Fixed):
    """Group invites and contact ids: ``t.me/+…``, ``matrix.to/#/…``, QQ group numbers,
    WeChat ids (``vx: …``)."""

    kind: ClassVar[str] = "invites"

    def match(
        self, message: MessageContext, scanned: Scanned, history: History, now: datetime
    ) -> Hit | None:
        invite = find_invite(scanned)
        if invite is None:
            return None
        return Hit(
            invite,
            Wording(
                f"contains a group invite or contact id ({echo(invite)})",
                f"包含群邀请或联系方式（{echo(invite)}）",
            ),
        )


@dataclass(frozen=True)
class Phones(_Fixed):
    """Mainland mobile numbers, with separators and +86."""

    kind: ClassVar[str] = "phones"

    def match(
        self, message: MessageContext, scanned: Scanned, history: History, now: datetime
    ) -> Hit | None:
        phone = find_phone(scanned)
        if phone is None:
            return None
        return Hit(phone, Wording("contains a phone number", "包含手机号码"))


@dataclass(frozen=True)
class QrCodes(_Fixed):
    """Images the adapter flagged as carrying a QR code (see ``MessageContext.has_qr``)."""

    kind: ClassVar[str] = "qr_codes"

    def match(
        self, message: MessageContext, scanned: Scanned, history: History, now: datetime
    ) -> Hit | None:
        found = find_qr(message.has_qr)
        if found is None:
            return None
        return Hit(found, Wording("contains an image with a QR code", "包含二维码图片"))


@dataclass(frozen=True)
class Advertising:
    """A score: a link adds ``link_weight``, a contact (phone, invite, WeChat id) adds
    ``contact_weight``, each trade word adds its weight; at ``threshold`` it is an advert.

    With the defaults, ``日赚 + a link`` (2 + 2) is an advert; ``周末兼职有人去吗`` (1) is not.
    """

    threshold: int = 4
    words: Mapping[str, int] = field(default_factory=lambda: dict(AD_WORDS))
    link_weight: int = 2
    contact_weight: int = 2
    index_factory: IndexFactory = field(default=LoopIndex, compare=False, repr=False)
    lexicon: Lexicon = field(init=False, compare=False, repr=False)
    kind: ClassVar[str] = "advertising"

    def __post_init__(self) -> None:
        object.__setattr__(self, "words", dict(self.words))
        object.__setattr__(self, "lexicon", Lexicon(self.words, self.index_factory))

    def problems(self) -> list[Wording]:
        problems: list[Wording] = []
        if self.threshold < 1:
            problems.append(Wording("the threshold must be at least 1", "阈值至少为 1"))
        if (
            self.link_weight < 0
            or self.contact_weight < 0
            or any(w < 0 for w in self.words.values())
        ):
            problems.append(Wording("weights cannot be negative", "权重不能为负数"))
        problems.extend(
            Wording(
                f"“{echo(word)}” has no letters or digits, so it can never match",
                f"“{echo(word)}”不含文字或数字，永远不会命中",
            )
            for word in self.lexicon.empty
        )
        return problems

    def params(self) -> dict[str, Any]:
        return {
            "threshold": self.threshold,
            "words": dict(self.words),
            "link_weight": self.link_weight,
            "contact_weight": self.contact_weight,
        }

    @classmethod
    def read(cls, reader: _Reader) -> Advertising:
        return cls(
            threshold=reader.whole("threshold", 4),
            words=reader.weights("words", AD_WORDS),
            link_weight=reader.whole("link_weight", 2),
            contact_weight=reader.whole("contact_weight", 2),
        )

    def match(
        self, message: MessageContext, scanned: Scanned, history: History, now: datetime
    ) -> Hit | None:
        found = ad_score(
            scanned,
            self.lexicon,
            self.words,
            link_weight=self.link_weight,
            contact_weight=self.contact_weight,
        )
        if found.score < self.threshold or not found.hits:
            return None
        return Hit(
            " · ".join(found.hits),
            Wording(
                f"looks like an advert (score {found.score}, threshold {self.threshold})",
                f"疑似广告（得分 {found.score}，阈值 {self.threshold}）",
            ),
        )


@dataclass(frozen=True)
class Patterns:
    """Operator regular expressions, run on the cleaned text (half-width, lowercase,
    invisible characters removed) case-insensitively. See ``pattern_problems`` for the
    patterns refused because they could run away."""

    patterns: tuple[str, ...]
    compiled: tuple[Any, ...] = field(init=False, compare=False, repr=False)
    kind: ClassVar[str] = "patterns"

    def __post_init__(self) -> None:
        object.__setattr__(self, "patterns", tuple(self.patterns))
        compiled = []
        for pattern in self.patterns:
            try:
                compiled.append(compile_pattern(pattern))
            except ValueError:
                continue  # reported by problems(); a Rule with it is never built
        object.__setattr__(self, "compiled", tuple(compiled))

    def problems(self) -> list[Wording]:
        if not self.patterns:
            return [Wording("the pattern list is empty", "正则列表为空")]
        return [problem for pattern in self.patterns for problem in pattern_problems(pattern)]

    def params(self) -> dict[str, Any]:
        return {"patterns": list(self.patterns)}

    @classmethod
    def read(cls, reader: _Reader) -> Patterns:
        return cls(reader.texts("patterns"))

    def match(
        self, message: MessageContext, scanned: Scanned, history: History, now: datetime
    ) -> Hit | None:
        found = find_pattern(scanned, self.compiled)
        if found is None:
            return None
        return Hit(found, Wording("matches a forbidden pattern", "命中禁止的正则"))


@dataclass(frozen=True)
class Flood:
    """``count`` messages (this one included) within ``seconds`` by one member in one group."""

    count: int = 5
    seconds: float = 10
    kind: ClassVar[str] = "flood"

    def problems(self) -> list[Wording]:
        problems = _positive_seconds(self.seconds, Wording("the time window", "时间窗口"))
        if self.count < 2:
            problems.append(
                Wording(
                    f"the message count must be at least 2, not {self.count}",
                    f"消息条数至少为 2，而不是 {self.count}",
                )
            )
        return problems

    def params(self) -> dict[str, Any]:
        return {"count": self.count, "seconds": self.seconds}

    @classmethod
    def read(cls, reader: _Reader) -> Flood:
        return cls(reader.whole("count", 5), reader.number("seconds", 10))

    def match(
        self, message: MessageContext, scanned: Scanned, history: History, now: datetime
    ) -> Hit | None:
        window = timedelta(seconds=self.seconds)
        earlier = sum(
            1
            for m in history.messages
            if m.platform == message.platform
            and m.group == message.group
            and now - window < m.at <= now
        )
        sent = earlier + 1
        if sent < self.count:
            return None
        en_span, zh_span = span(window, "en"), span(window, "zh")
        return Hit(
            f"{sent} messages / {en_span}",
            Wording(
                f"sent {sent} messages within {en_span} (the limit is {self.count})",
                f"{zh_span}内发送了 {sent} 条消息（上限 {self.count} 条）",
            ),
        )


@dataclass(frozen=True)
class Repeat:
    """The same normalised text in ``groups`` groups (this one included) within ``seconds``.
    Texts shorter than ``min_length`` once normalised (``好的``, ``收到``) never count."""

    groups: int = 3
    seconds: float = 600
    min_length: int = 5
    kind: ClassVar[str] = "repeat"

    def problems(self) -> list[Wording]:
        problems = _positive_seconds(self.seconds, Wording("the time window", "时间窗口"))
        if self.groups < 2:
            problems.append(
                Wording(
                    f"the group count must be at least 2, not {self.groups}",
                    f"群数至少为 2，而不是 {self.groups}",
                )
            )
        if self.min_length < 1:
            problems.append(Wording("the minimum length must be at least 1", "最短长度至少为 1"))
        return problems

    def params(self) -> dict[str, Any]:
        return {"groups": self.groups, "seconds": self.seconds, "min_length": self.min_length}

    @classmethod
    def read(cls, reader: _Reader) -> Repeat:
        return cls(
            reader.whole("groups", 3), reader.number("seconds", 600), reader.whole("min_length", 5)
        )

    def match(
        self, message: MessageContext, scanned: Scanned, history: History, now: datetime
    ) -> Hit | None:
        text = scanned.normal
        if len(text) < self.min_length:
            return None
        window = timedelta(seconds=self.seconds)
        same = [m for m in history.messages if m.text == text and now - window < m.at <= now]
        groups = {(m.platform, m.group) for m in same} | {(message.platform, message.group)}
        if len(groups) < self.groups:
            return None
        copies = tuple(
            (m.platform, m.group, m.message_id) for m in same if m.message_id is not None
        )
        en_span, zh_span = span(window, "en"), span(window, "zh")
        return Hit(
            echo(message.text, MAX_MATCHED),
            Wording(
                f"sent the same message in {len(groups)} groups within {en_span} "
                f"(the limit is {self.groups})",
                f"{zh_span}内在 {len(groups)} 个群发送了相同的消息（上限 {self.groups} 个）",
            ),
            copies,
        )


#: What a new member may be kept from posting, and how to say it.
NEW_MEMBER_LIMITS: Mapping[str, Wording] = {
    "link": Wording("a link", "链接"),
    "invite": Wording("a group invite or contact id", "群邀请或联系方式"),
    "qr": Wording("a QR code image", "二维码图片"),
    "phone": Wording("a phone number", "手机号码"),
}


@dataclass(frozen=True)
class NewMember:
    """No links / invites / QR codes / phone numbers (``forbid``) in the first ``hours``
    after joining. Members with an unknown join time are not new."""

    hours: float = 24
    forbid: tuple[str, ...] = ("link", "invite")
    allow: tuple[str, ...] = ()
    kind: ClassVar[str] = "new_member"

    def __post_init__(self) -> None:
        object.__setattr__(self, "forbid", tuple(self.forbid))
        object.__setattr__(self, "allow", tuple(self.allow))

    def problems(self) -> list[Wording]:
        problems: list[Wording] = []
        if not 0 < self.hours <= MAX_NEW_HOURS:
            problems.append(
                Wording(
                    f"the hours must be more than zero and at most {MAX_NEW_HOURS}",
                    f"小时数必须大于零且不超过 {MAX_NEW_HOURS}",
                )
            )
        if not self.forbid:
            problems.append(Wording("nothing is forbidden", "没有设置禁止的内容"))
        known = ", ".join(NEW_MEMBER_LIMITS)
        problems.extend(
            Wording(
                f"unknown limit {echo(name)!r} (known: {known})",
                f"未知的限制 {echo(name)!r}（可用：{known}）",
            )
            for name in self.forbid
            if name not in NEW_MEMBER_LIMITS
        )
        problems.extend(_domain_problems(self.allow))
        return problems

    def params(self) -> dict[str, Any]:
        return {"hours": self.hours, "forbid": list(self.forbid), "allow": list(self.allow)}

    @classmethod
    def read(cls, reader: _Reader) -> NewMember:
        return cls(
            reader.number("hours", 24),
            reader.texts("forbid", ("link", "invite")),
            reader.texts("allow"),
        )

    def _found(self, name: str, message: MessageContext, scanned: Scanned) -> str | None:
        if name == "link":
            return find_link(scanned, self.allow)
        if name == "invite":
            return find_invite(scanned)
        if name == "qr":
            return find_qr(message.has_qr)
        if name == "phone":
            return find_phone(scanned)
        return None

    def match(
        self, message: MessageContext, scanned: Scanned, history: History, now: datetime
    ) -> Hit | None:
        if message.joined_at is None or now - message.joined_at >= timedelta(hours=self.hours):
            return None
        for name in self.forbid:
            found = self._found(name, message, scanned)
            if found is not None:
                what = NEW_MEMBER_LIMITS[name]
                period = timedelta(hours=self.hours)
                return Hit(
                    found,
                    Wording(
                        f"posted {what.en} within {span(period, 'en')} of joining",
                        f"入群 {span(period, 'zh')}内发送了{what.zh}",
                    ),
                )
        return None


Check = (
    BannedWords
    | Links
    | Invites
    | Phones
    | QrCodes
    | Advertising
    | Patterns
    | Flood
    | Repeat
    | NewMember
)

#: Every kind of check, by the name stored in a rule's ``kind``.
CHECKS: Mapping[str, Any] = {
    cls.kind: cls
    for cls in (
        BannedWords,
        Links,
        Invites,
        Phones,
        QrCodes,
        Advertising,
        Patterns,
        Flood,
        Repeat,
        NewMember,
    )
}


# --- rules ---------------------------------------------------------------------------------


def _sanctions(names: Iterable[Any]) -> tuple[tuple[Sanction, ...], list[Wording]]:
    known = ", ".join(s.value for s in Sanction)
    out: list[Sanction] = []
    problems: list[Wording] = []
    for name in names:
        try:
            out.append(Sanction(name))
        except ValueError:
            problems.append(
                Wording(
                    f"unknown action {echo(repr(name))} (known: {known})",
                    f"未知的处理方式 {echo(repr(name))}（可用：{known}）",
                )
            )
    return tuple(dict.fromkeys(out)), problems


def _roles(names: Iterable[Any]) -> tuple[frozenset[Role], list[Wording]]:
    known = ", ".join(r.value for r in Role)
    out: set[Role] = set()
    problems: list[Wording] = []
    for name in names:
        try:
            out.add(Role(name))
        except ValueError:
            problems.append(
                Wording(
                    f"unknown role {echo(repr(name))} (known: {known})",
                    f"未知的角色 {echo(repr(name))}（可用：{known}）",
                )
            )
    return frozenset(out), problems


def _notice(text: str | None) -> tuple[Template | None, list[Wording]]:
    if text is None:
        return None, []
    try:
        return parse(text, NOTICE_VARIABLES), []
    except TemplateError as error:
        return None, [Wording(f"the warning notice: {error}", f"警告提醒文字：{error}")]


@dataclass(frozen=True)
class Rule:
    """One moderation rule: a check, what to do when it matches, and who is exempt.

    ``mute`` is the mute's duration when ``actions`` include mute. ``notice`` replaces the
    default warning text and may use ``{name}``, ``{rule}`` and ``{count}`` (the sender's
    live warnings). Raises RuleError, naming the rule, when it cannot work.
    """

    id: str
    name: str
    check: Check
    actions: tuple[Sanction, ...] = (Sanction.DELETE, Sanction.WARN)
    mute: timedelta | None = None
    exempt_roles: frozenset[Role] = DEFAULT_EXEMPT
    exempt_tiers: frozenset[str] = frozenset()
    notice: str | None = None
    enabled: bool = True
    template: Template | None = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        actions, problems = _sanctions(self.actions)
        roles, role_problems = _roles(self.exempt_roles)
        template, notice_problems = _notice(self.notice)
        object.__setattr__(self, "actions", actions)
        object.__setattr__(self, "exempt_roles", roles)
        object.__setattr__(self, "exempt_tiers", frozenset(self.exempt_tiers))
        object.__setattr__(self, "template", template)
        problems += role_problems + notice_problems + self._problems()
        if problems:
            raise RuleError(str(self.id), str(self.name), problems)

    def _problems(self) -> list[Wording]:
        problems: list[Wording] = []
        if not isinstance(self.id, str) or not self.id.strip():
            problems.append(Wording("the rule has no id", "规则没有 id"))
        if not isinstance(self.name, str) or not self.name.strip():
            problems.append(Wording("the rule has no name", "规则没有名称"))
        if not self.actions:
            problems.append(
                Wording(
                    "the rule does nothing: choose at least one action",
                    "规则没有处理方式，请至少选择一种",
                )
            )
        if Sanction.MUTE in self.actions:
            problems.extend(mute_problems(self.mute, Wording("the rule", "规则")))
        elif self.mute is not None:
            problems.append(
                Wording(
                    "a mute duration is set but the rule does not mute",
                    "设置了禁言时长，但规则不禁言",
                )
            )
        problems.extend(self.check.problems())
        return problems

    def exempts(self, message: MessageContext) -> bool:
        return message.role in self.exempt_roles or (
            message.tier is not None and message.tier in self.exempt_tiers
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "kind": self.check.kind,
            "params": self.check.params(),
            "actions": [a.value for a in self.actions],
            "exempt_roles": sorted(r.value for r in self.exempt_roles),
            "exempt_tiers": sorted(self.exempt_tiers),
            "enabled": self.enabled,
        }
        if self.mute is not None:
            out["mute_s"] = self.mute.total_seconds()
        if self.notice is not None:
            out["notice"] = self.notice
        return out

    @classmethod
    def from_dict(cls, data: Any) -> Rule:
        """Raises RuleError naming the rule and every problem in it."""
        reader = _Reader(data)
        rule_id = reader.text("id") or ""
        name = reader.text("name") or ""
        check = _read_check(reader)
        values, problems = _read_common(reader)
        problems += reader.problems + reader.unknown()
        if check is None:
            raise RuleError(rule_id, name, problems)
        try:
            rule = cls(rule_id, name, check, **values)
        except RuleError as error:
            raise RuleError(rule_id, name, problems + list(error.problems)) from None
        if problems:
            raise RuleError(rule_id, name, problems)
        return rule


def _read_check(reader: _Reader) -> Check | None:
    kind = reader.text("kind") or ""
    check_class = CHECKS.get(kind)
    if check_class is None:
        known = ", ".join(CHECKS)
        reader.problems.append(
            Wording(
                f"unknown kind {echo(repr(kind))} (known: {known})",
                f"未知的规则类型 {echo(repr(kind))}（可用：{known}）",
            )
        )
        return None
    params = _Reader(reader.get("params", {}), "params")
    check: Check = check_class.read(params)
    reader.problems.extend(params.problems + params.unknown())
    return check


def _read_common(reader: _Reader) -> tuple[dict[str, Any], list[Wording]]:
    """The fields every rule has, and the problems with them."""
    actions, problems = _sanctions(reader.texts("actions", ("delete", "warn")))
    roles, role_problems = _roles(
        reader.texts("exempt_roles", tuple(r.value for r in DEFAULT_EXEMPT))
    )
    mute: timedelta | None = None
    if reader.get("mute_s") is not None:
        # Clamped so a huge number reads as "too long" rather than overflowing.
        seconds = min(reader.number("mute_s", 0), MAX_MUTE.total_seconds() + 1)
        mute = timedelta(seconds=max(seconds, -1))
    values = {
        "actions": actions,
        "mute": mute,
        "exempt_roles": roles,
        "exempt_tiers": frozenset(reader.texts("exempt_tiers")),
        "notice": reader.text("notice"),
        "enabled": reader.flag("enabled", True),
    }
    return values, problems + role_problems


# --- policies ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Policy:
    """The moderation of one group: its rules, in the order they are tried, and the
    community's warning ladder. Rule ids are unique."""

    rules: tuple[Rule, ...] = ()
    ladder: Ladder = field(default_factory=Ladder)

    def __post_init__(self) -> None:
        object.__setattr__(self, "rules", tuple(self.rules))
        seen: set[str] = set()
        for rule in self.rules:
            if rule.id in seen:
                raise RuleError(
                    rule.id,
                    rule.name,
                    [Wording("another rule has the same id", "已有相同 id 的规则")],
                )
            seen.add(rule.id)

    @property
    def lookback(self) -> timedelta:
        """How far back the history ``moderate`` needs goes: the longest flood or repeat
        window (zero when there is none)."""
        windows = [
            timedelta(seconds=rule.check.seconds)
            for rule in self.rules
            if isinstance(rule.check, Flood | Repeat)
        ]
        return max(windows, default=timedelta(0))

    def to_dict(self) -> dict[str, Any]:
        return {"rules": [rule.to_dict() for rule in self.rules], "ladder": self.ladder.to_dict()}

    @classmethod
    def from_dict(cls, data: Any) -> Policy:
        """The policy, or the first RuleError when any part of it cannot work."""
        loaded = load_policy(data)
        if loaded.problems:
            raise loaded.problems[0]
        return loaded.policy


class LoadedPolicy(NamedTuple):
    """A policy built from what could be built, and a RuleError for each part that could
    not: one bad rule never takes the others down."""

    policy: Policy
    problems: tuple[RuleError, ...]


def load_policy(data: Any) -> LoadedPolicy:
    """Build every rule that works from a stored policy; report each one that does not."""
    reader = _Reader(data, "policy")
    problems: list[RuleError] = []
    if reader.problems:
        problems.append(RuleError("policy", "", reader.problems))
    raw_rules = reader.data.get("rules", [])
    if not isinstance(raw_rules, list | tuple):
        problems.append(
            RuleError("policy", "", [Wording("'rules' must be a list", "rules 必须是列表")])
        )
        raw_rules = []
    rules: list[Rule] = []
    ids: set[str] = set()
    for raw in raw_rules:
        try:
            rule = Rule.from_dict(raw)
        except RuleError as error:
            problems.append(error)
            continue
        if rule.id in ids:
            problems.append(
                RuleError(
                    rule.id,
                    rule.name,
                    [Wording("another rule has the same id", "已有相同 id 的规则")],
                )
            )
            continue
        ids.add(rule.id)
        rules.append(rule)
    ladder = Ladder()
    if "ladder" in reader.data:
        raw_ladder = reader.data["ladder"]
        try:
            if not isinstance(raw_ladder, Mapping):
                raise RuleError(
                    "ladder", "", [Wording("the ladder must be an object", "警告阶梯必须是对象")]
                )
            ladder = Ladder.from_dict(raw_ladder)
        except RuleError as error:
            problems.append(error)
    return LoadedPolicy(Policy(tuple(rules), ladder), tuple(problems))


# --- decisions -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Decision:
    """What a rule decided about one message, as the moderation log shows it.

    ``warnings`` is the sender's warnings list after this decision: the caller stores it
    in place of the old one (it is the old one, unchanged, when the rule does not warn).
    ``step`` is the ladder step the warning reached, None when the rule does not warn.
    """

    rule_id: str
    rule_name: str
    kind: str
    matched: str
    reason: Wording
    actions: tuple[Action, ...]
    warning: bool = False
    warnings: tuple[datetime, ...] = ()
    step: Step | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "rule_name": self.rule_name,
            "kind": self.kind,
            "matched": self.matched,
            "reason": self.reason.to_dict(),
            "actions": [action.to_dict() for action in self.actions],
            "warning": self.warning,
            "warnings": [w.isoformat() for w in self.warnings],
            "step": self.step.to_dict() if self.step is not None else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Decision:
        step = data.get("step")
        return cls(
            rule_id=str(data["rule_id"]),
            rule_name=str(data["rule_name"]),
            kind=str(data["kind"]),
            matched=str(data["matched"]),
            reason=Wording.from_dict(data["reason"]),
            actions=tuple(Action.from_dict(a) for a in data.get("actions", [])),
            warning=bool(data.get("warning", False)),
            warnings=tuple(_instant(w) for w in data.get("warnings", [])),
            step=Step.from_dict(step) if step is not None else None,
        )


_SEVERITY = {Penalty.MUTE: 1, Penalty.KICK: 2, Penalty.BAN: 3}


class _Sentence(NamedTuple):
    penalty: Penalty
    duration: timedelta | None


def _sentence(rule: Rule, step: Step | None) -> _Sentence | None:
    """The one member sanction: the most severe of the rule's own and the ladder step's."""
    options: list[_Sentence] = []
    if Sanction.BAN in rule.actions:
        options.append(_Sentence(Penalty.BAN, None))
    if Sanction.KICK in rule.actions:
        options.append(_Sentence(Penalty.KICK, None))
    if Sanction.MUTE in rule.actions and rule.mute is not None:
        options.append(_Sentence(Penalty.MUTE, rule.mute))
    if step is not None and step.penalty is not Penalty.WARN:
        options.append(_Sentence(step.penalty, step.duration))
    if not options:
        return None
    return max(options, key=lambda s: (_SEVERITY[s.penalty], s.duration or timedelta(0)))


def _reason_text(rule: Rule, reason: Wording, lang: str) -> str:
    if is_chinese(lang):
        return f"{rule.name}：{reason.zh}"
    return f"{rule.name}: {reason.en}"


def _notice_text(
    rule: Rule,
    message: MessageContext,
    warnings: int,
    sentence: _Sentence | None,
    ladder: Ladder,
    lang: str,
) -> str:
    zh = is_chinese(lang)
    days = span(ladder.expiry, lang)
    if rule.template is not None:
        head = fill(
            rule.template,
            {"name": message.name or message.actor, "rule": rule.name, "count": warnings},
        )
    elif zh:
        head = f"你的消息违反了群规「{rule.name}」，这是 {days}内的第 {warnings} 次警告。"
    else:
        head = (
            f"your message breaks the group rule “{rule.name}”: warning {warnings} within {days}."
        )
    parts = [head]
    if sentence is not None:
        done = Step(0, sentence.penalty, sentence.duration).describe()
        parts.append(f"已{done.zh}。" if zh else f"You have been {done.en}.")
    if sentence is None or sentence.penalty is Penalty.MUTE:
        upcoming = ladder.next_step(warnings)
        if upcoming is not None:
            more = upcoming.at - warnings
            then = upcoming.describe()
            if zh:
                parts.append(f"再收到 {more} 次警告将被{then.zh}。")
            else:
                plural = "warning" if more == 1 else "warnings"
                parts.append(f"{more} more {plural} and you will be {then.en}.")
    return " ".join(parts) if not zh else "".join(parts)


def _member_action(
    sentence: _Sentence, common: dict[str, Any], rule: Rule, now: datetime
) -> Action:
    params: dict[str, Any] = {"rule": rule.id}
    if sentence.penalty is Penalty.MUTE and sentence.duration is not None:
        params["until"] = (now + sentence.duration).astimezone(UTC).isoformat()
        return Action(ActionType.MUTE, duration=sentence.duration, params=params, **common)
    kind = ActionType.BAN if sentence.penalty is Penalty.BAN else ActionType.KICK
    return Action(kind, params=params, **common)


def _deletions(rule: Rule, hit: Hit, message: MessageContext, reason: str) -> list[Action]:
    """Delete the message and any copies of it the check found elsewhere; a message without
    an id cannot be deleted."""
    own = [(message.platform, message.group, message.message_id)] if message.message_id else []
    return [
        Action(
            ActionType.DELETE_MESSAGE,
            platform=platform,
            group=group,
            user=message.actor,
            target_message=message_id,
            reason=reason,
            params={"rule": rule.id},
        )
        for platform, group, message_id in dict.fromkeys([*own, *hit.copies])
    ]


def _warning_action(
    rule: Rule, message: MessageContext, text: str, where: dict[str, Any], *, replying: bool
) -> Action:
    """The warning, mentioning the sender: a reply to their message, or a new message when
    that one is being deleted (some platforms refuse a reply to a deleted message)."""
    reply = replying and message.message_id is not None
    return Action(
        ActionType.REPLY if reply else ActionType.SEND_MESSAGE,
        user=message.actor,
        message=Message.of(Mention(user=message.actor, name=message.name), " " + text),
        target_message=message.message_id if reply else None,
        params={"rule": rule.id, "warning": True},
        **where,
    )


def _decide(
    policy: Policy,
    rule: Rule,
    hit: Hit,
    message: MessageContext,
    history: History,
    now: datetime,
    lang: str,
) -> Decision:
    warning = Sanction.WARN in rule.actions
    step: Step | None = None
    warnings = history.warnings
    if warning:
        step, warnings = escalate(policy.ladder, history.warnings, now)
    reason = _reason_text(rule, hit.reason, lang)
    where = {"platform": message.platform, "group": message.group, "reason": reason}
    deletions = _deletions(rule, hit, message, reason) if Sanction.DELETE in rule.actions else []
    actions = list(deletions)
    sentence = _sentence(rule, step)
    if sentence is not None:
        actions.append(_member_action(sentence, {**where, "user": message.actor}, rule, now))
    if warning:
        text = _notice_text(rule, message, len(warnings), sentence, policy.ladder, lang)
        actions.append(_warning_action(rule, message, text, where, replying=not deletions))
    return Decision(
        rule_id=rule.id,
        rule_name=rule.name,
        kind=rule.check.kind,
        matched=echo(hit.matched, MAX_MATCHED),
        reason=hit.reason,
        actions=tuple(actions),
        warning=warning,
        warnings=tuple(warnings),
        step=step,
    )


def moderate(
    policy: Policy,
    message: MessageContext,
    history: History,
    now: datetime,
    *,
    lang: str = "zh-CN",
) -> Decision | None:
    """The decision of the first rule, in policy order, that ``message`` breaks; None when
    it breaks none. ``history`` holds the sender's earlier messages (not this one) and
    warnings; ``lang`` is the language of the notice and of the actions' reasons.

    A message without a message id cannot be deleted; the other sanctions still apply.
    """
    _aware(now, "now")
    scanned = Scanned(message.text)
    for rule in policy.rules:
        if not rule.enabled or rule.exempts(message):
            continue
        hit = rule.check.match(message, scanned, history, now)
        if hit is not None:
            return _decide(policy, rule, hit, message, history, now, lang)
    return None


# --- night mode and mute-all windows ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Target:
    """A group a window applies to, by platform id."""

    platform: str
    group: str


ALL_DAYS: frozenset[int] = frozenset(range(7))
_DAY_NAMES = (
    ("Mon", "周一"),
    ("Tue", "周二"),
    ("Wed", "周三"),
    ("Thu", "周四"),
    ("Fri", "周五"),
    ("Sat", "周六"),
    ("Sun", "周日"),
)


def _target_problems(targets: Sequence[Target]) -> list[Wording]:
    if not targets:
        return [Wording("the window applies to no group", "时段没有指定任何群")]
    return []


@dataclass(frozen=True)
class DailyWindow:
    """A time of day, in the community's zone, when the targets are muted: night mode.

    ``start`` > ``end`` crosses midnight (23:00–07:00). ``days`` (0 = Monday) are the days
    the window starts on, so Friday's 23:00–07:00 covers Saturday 03:00. Local clock times
    are what count: on the night clocks go forward an hour, a window over the missing hour
    is shorter, and on the night they go back, a window over the repeated hour is longer.
    """

    id: str
    name: str
    start: time
    end: time
    targets: tuple[Target, ...]
    days: frozenset[int] = ALL_DAYS
    enabled: bool = True
    kind: ClassVar[str] = "daily"

    def __post_init__(self) -> None:
        object.__setattr__(self, "targets", tuple(self.targets))
        object.__setattr__(self, "days", frozenset(self.days))
        problems = _target_problems(self.targets)
        if not self.id:
            problems.append(Wording("the window has no id", "时段没有 id"))
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            problems.append(
                Wording(
                    "times are local to the community's zone: drop their time zone",
                    "时间按社群时区计算，请去掉时区",
                )
            )
        if self.start == self.end:
            problems.append(
                Wording("the window starts and ends at the same time", "时段的开始和结束时间相同")
            )
        if not self.days or not self.days <= ALL_DAYS:
            problems.append(
                Wording(
                    "the days must be a non-empty set of 0 (Monday) to 6 (Sunday)",
                    "星期必须是 0（周一）到 6（周日）中的若干天",
                )
            )
        if problems:
            raise RuleError(self.id, self.name, problems)

    def covers(self, at: datetime, zone: tzinfo) -> bool:
        local = at.astimezone(zone)
        clock = local.time()
        if self.start < self.end:
            return self.start <= clock < self.end and local.weekday() in self.days
        if clock >= self.start:
            return local.weekday() in self.days
        if clock < self.end:
            return (local.date() - timedelta(days=1)).weekday() in self.days
        return False

    def describe(self, zone_name: str) -> Wording:
        hours = f"{self.start:%H:%M}–{self.end:%H:%M}"
        if self.days == ALL_DAYS:
            return Wording(f"{hours} {zone_name}", f"{hours}（{zone_name}）")
        en = " ".join(_DAY_NAMES[d][0] for d in sorted(self.days))
        zh = "、".join(_DAY_NAMES[d][1] for d in sorted(self.days))
        return Wording(f"{hours} {zone_name}, {en}", f"{zh} {hours}（{zone_name}）")

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "start": f"{self.start:%H:%M}",
            "end": f"{self.end:%H:%M}",
            "days": sorted(self.days),
            "targets": [{"platform": t.platform, "group": t.group} for t in self.targets],
            "enabled": self.enabled,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DailyWindow:
        """Raises RuleError naming the window and every problem in it."""
        return cast(DailyWindow, window_from_dict({**data, "kind": cls.kind}))


@dataclass(frozen=True)
class OneOffWindow:
    """A one-off mute of the targets from ``start`` to ``end``, e.g. during a talk."""

    id: str
    name: str
    start: datetime
    end: datetime
    targets: tuple[Target, ...]
    enabled: bool = True
    kind: ClassVar[str] = "once"

    def __post_init__(self) -> None:
        object.__setattr__(self, "targets", tuple(self.targets))
        problems = _target_problems(self.targets)
        if not self.id:
            problems.append(Wording("the window has no id", "时段没有 id"))
        aware = all(
            t.tzinfo is not None and t.utcoffset() is not None for t in (self.start, self.end)
        )
        if not aware:
            problems.append(
                Wording("the start and end need a time zone", "开始和结束时间需要带时区")
            )
        elif self.end <= self.start:
            problems.append(
                Wording("the window ends before it starts", "时段的结束时间早于开始时间")
            )
        if problems:
            raise RuleError(self.id, self.name, problems)

    def covers(self, at: datetime, zone: tzinfo) -> bool:
        return self.start <= at < self.end

    def describe(self, zone_name: str) -> Wording:
        return Wording(
            f"{self.start.isoformat()} to {self.end.isoformat()}",
            f"{self.start.isoformat()} 至 {self.end.isoformat()}",
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "targets": [{"platform": t.platform, "group": t.group} for t in self.targets],
            "enabled": self.enabled,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OneOffWindow:
        """Raises RuleError naming the window and every problem in it."""
        return cast(OneOffWindow, window_from_dict({**data, "kind": cls.kind}))


Window = DailyWindow | OneOffWindow


def _clock(value: Any, key: str, problems: list[Wording]) -> time:
    try:
        if not isinstance(value, str) or len(value) not in (5, 8):
            raise ValueError
        parsed = time.fromisoformat(value)
        if parsed.tzinfo is not None:
            raise ValueError
        return parsed
    except ValueError:
        problems.append(
            Wording(
                f"'{key}' must be a time like 23:00, not {echo(repr(value))}",
                f"{key} 必须是 23:00 这样的时间，而不是 {echo(repr(value))}",
            )
        )
        return time(0)


def _moment(value: Any, key: str, problems: list[Wording]) -> datetime:
    try:
        parsed = datetime.fromisoformat(str(value)) if isinstance(value, str) else None
        if parsed is None or parsed.tzinfo is None:
            raise ValueError
        return parsed
    except ValueError:
        problems.append(
            Wording(
                f"'{key}' must be a date and time with its zone, like "
                f"2026-03-02T19:00+08:00, not {echo(repr(value))}",
                f"{key} 必须是带时区的日期时间，如 2026-03-02T19:00+08:00，"
                f"而不是 {echo(repr(value))}",
            )
        )
        return datetime(1970, 1, 1, tzinfo=UTC)


def window_from_dict(data: Any) -> Window:
    """Raises RuleError naming the window and every problem in it."""
    reader = _Reader(data, "window")
    window_id = reader.text("id") or ""
    name = reader.text("name") or ""
    problems = reader.problems
    targets: list[Target] = []
    raw_targets = reader.data.get("targets", [])
    for raw in raw_targets if isinstance(raw_targets, list | tuple) else [raw_targets]:
        if (
            isinstance(raw, Mapping)
            and isinstance(raw.get("platform"), str)
            and isinstance(raw.get("group"), str)
        ):
            targets.append(Target(raw["platform"], raw["group"]))
        else:
            problems.append(
                Wording(
                    f"a target must be {{platform, group}}, not {echo(repr(raw))}",
                    f"目标必须是 {{platform, group}}，而不是 {echo(repr(raw))}",
                )
            )
    enabled = reader.flag("enabled", True)
    kind = reader.data.get("kind", "daily")
    try:
        if kind == DailyWindow.kind:
            days = reader.data.get("days", sorted(ALL_DAYS))
            if not isinstance(days, list | tuple) or not all(
                isinstance(d, int) and not isinstance(d, bool) for d in days
            ):
                problems.append(
                    Wording(
                        "'days' must be a list of 0 (Monday) to 6 (Sunday)",
                        "days 必须是 0（周一）到 6（周日）的列表",
                    )
                )
                days = sorted(ALL_DAYS)
            start = _clock(reader.data.get("start"), "start", problems)
            end = _clock(reader.data.get("end"), "end", problems)
            if problems:
                raise RuleError(window_id, name, problems)
            return DailyWindow(
                window_id, name, start, end, tuple(targets), frozenset(days), enabled
            )
        if kind == OneOffWindow.kind:
            start_at = _moment(reader.data.get("start"), "start", problems)
            end_at = _moment(reader.data.get("end"), "end", problems)
            if problems:
                raise RuleError(window_id, name, problems)
            return OneOffWindow(window_id, name, start_at, end_at, tuple(targets), enabled)
    except RuleError as error:
        merged = list(dict.fromkeys([*problems, *error.problems]))
        raise RuleError(window_id, name, merged) from None
    problems.append(
        Wording(
            f"unknown window kind {echo(repr(kind))} (known: daily, once)",
            f"未知的时段类型 {echo(repr(kind))}（可用：daily、once）",
        )
    )
    raise RuleError(window_id, name, problems)


def load_windows(data: Iterable[Any]) -> tuple[list[Window], list[RuleError]]:
    """Every window that works, and a RuleError for each one that does not."""
    windows: list[Window] = []
    problems: list[RuleError] = []
    for raw in data:
        try:
            windows.append(window_from_dict(raw))
        except RuleError as error:
            problems.append(error)
    return windows, problems


def _zone(zone: str | tzinfo) -> tuple[tzinfo, str]:
    if isinstance(zone, str):
        return zone_named(zone), zone
    return zone, str(zone)


def window_actions(
    windows: Iterable[Window],
    zone: str | tzinfo,
    last_tick: datetime | None,
    now: datetime,
    *,
    lang: str = "zh-CN",
) -> list[Action]:
    """MUTE_ALL for each group a window began for since ``last_tick``, UNMUTE_ALL for each
    group whose windows all ended.

    Decided by state, not by counting edges: a group is muted while any of its enabled
    windows covers the instant. So a tick missed over a whole window does nothing (the
    group ends where it started), overlapping windows never unmute early, and a repeated
    tick repeats nothing. On the first tick (``last_tick`` None) a group inside a window
    is muted; one outside is left alone, so a manual mute-all is not undone.
    """
    _aware(now, "now")
    if last_tick is not None:
        _aware(last_tick, "last_tick")
    tz, zone_name = _zone(zone)
    by_target: dict[Target, list[Window]] = {}
    for window in windows:
        if window.enabled:
            for target in window.targets:
                by_target.setdefault(target, []).append(window)
    actions: list[Action] = []
    for target, mine in by_target.items():
        active = [w for w in mine if w.covers(now, tz)]
        was = [w for w in mine if w.covers(last_tick, tz)] if last_tick is not None else []
        if active and not was:
            actions.append(_window_action(ActionType.MUTE_ALL, target, active[0], zone_name, lang))
        elif was and not active:
            actions.append(_window_action(ActionType.UNMUTE_ALL, target, was[0], zone_name, lang))
    return actions


def _window_action(
    kind: ActionType, target: Target, window: Window, zone_name: str, lang: str
) -> Action:
    when = window.describe(zone_name)
    if kind is ActionType.MUTE_ALL:
        said = Wording(f"“{window.name}” begins ({when.en})", f"「{window.name}」开始（{when.zh}）")
    else:
        said = Wording(f"“{window.name}” ends ({when.en})", f"「{window.name}」结束（{when.zh}）")
    return Action(
        kind,
        platform=target.platform,
        group=target.group,
        reason=said.pick(lang),
        params={"window": window.id},
    )


# --- the blacklist -------------------------------------------------------------------------

BLACKLIST_RULE = "blacklist"
_BLACKLISTED = Wording("on the community blacklist", "在社群黑名单中")


def user_key(platform: str, user: str) -> str:
    """The blacklist key of one account: ``platform:user id``. A blacklist may hold other
    stable keys too (``member:42`` for a member across all their accounts)."""
    return f"{platform}:{user}"


def blacklisted(user_keys: Iterable[str], blacklist: Collection[str]) -> bool:
    """Whether any of a person's keys (their accounts, their member key) is blacklisted."""
    return any(key in blacklist for key in user_keys)


@dataclass(frozen=True, slots=True)
class Seat:
    """An account's place in a group: where a blacklisted member has to be removed from."""

    platform: str
    group: str
    user: str


def blacklist_removals(
    seats: Iterable[Seat], *, ban: bool = True, lang: str = "zh-CN"
) -> list[Action]:
    """Remove a blacklisted member from every group they are in: BAN (so they cannot come
    back through a link), or KICK where the caller asks for it (a platform without bans)."""
    kind = ActionType.BAN if ban else ActionType.KICK
    return [
        Action(
            kind,
            platform=seat.platform,
            group=seat.group,
            user=seat.user,
            reason=_BLACKLISTED.pick(lang),
            params={"rule": BLACKLIST_RULE},
        )
        for seat in dict.fromkeys(seats)
    ]


def blacklist_refusal(platform: str, group: str, user: str, *, lang: str = "zh-CN") -> list[Action]:
    """Refuse a blacklisted member's request to join."""
    return [
        Action(
            ActionType.REJECT_JOIN,
            platform=platform,
            group=group,
            user=user,
            reason=_BLACKLISTED.pick(lang),
            params={"rule": BLACKLIST_RULE},
        )
    ]


# --- undo ----------------------------------------------------------------------------------

_UNDO = {
    ActionType.MUTE: ActionType.UNMUTE,
    ActionType.BAN: ActionType.UNBAN,
    ActionType.MUTE_ALL: ActionType.UNMUTE_ALL,
}
_CANNOT = {
    ActionType.DELETE_MESSAGE: Wording(
        "a deleted message cannot be restored: no platform allows it; its text stays in the log",
        "已删除的消息无法恢复（各平台均不支持），原文保留在日志中",
    ),
    ActionType.KICK: Wording(
        "a removed member has to rejoin: send them an invite",
        "被移出的成员需要重新入群，请给对方发送邀请",
    ),
    ActionType.REJECT_JOIN: Wording(
        "a refused join request cannot be reopened: ask them to apply again",
        "已拒绝的入群申请无法恢复，请让对方重新申请",
    ),
}
_WARNING_NOTE = Wording(
    "the warning message stays in the chat, but the warning no longer counts",
    "警告消息仍留在聊天中，但该次警告不再计数",
)


@dataclass(frozen=True, slots=True)
class UndoPlan:
    """How to take a decision back: the actions that reverse what can be reversed, notes
    on what cannot, and whether the warning it gave should be withdrawn from the count."""

    actions: tuple[Action, ...]
    notes: tuple[Wording, ...]
    withdraw_warning: bool


def undo_plan(decision_actions: Iterable[Action]) -> UndoPlan:
    """UNMUTE for MUTE, UNBAN for BAN, UNMUTE_ALL for MUTE_ALL; a note for the rest."""
    actions: dict[tuple[Any, ...], Action] = {}
    notes: list[Wording] = []
    withdraw = False
    for action in decision_actions:
        reverse = _UNDO.get(action.type)
        if reverse is not None:
            key = (reverse, action.platform, action.group, action.user)
            actions.setdefault(
                key,
                Action(
                    reverse,
                    platform=action.platform,
                    group=action.group,
                    user=action.user,
                    reason=f"undo: {action.reason}" if action.reason else "undo",
                    params={
                        **{k: v for k, v in action.params.items() if k in ("rule", "window")},
                        "undo": True,
                    },
                ),
            )
        elif action.params.get("warning"):
            withdraw = True
            notes.append(_WARNING_NOTE)
        elif action.type in _CANNOT:
            notes.append(_CANNOT[action.type])
    return UndoPlan(tuple(actions.values()), tuple(dict.fromkeys(notes)), withdraw)


def undo_actions(decision_actions: Iterable[Action]) -> list[Action]:
    """The actions that reverse a decision's (see ``undo_plan`` for what cannot be)."""
    return list(undo_plan(decision_actions).actions)


__all__ = [
    "ALL_DAYS",
    "BLACKLIST_RULE",
    "CHECKS",
    "DEFAULT_EXEMPT",
    "NEW_MEMBER_LIMITS",
    "NOTICE_VARIABLES",
    "Advertising",
    "BannedWords",
    "Check",
    "DailyWindow",
    "Decision",
    "Flood",
    "History",
    "Hit",
    "Invites",
    "Links",
    "LoadedPolicy",
    "MessageContext",
    "NewMember",
    "OneOffWindow",
    "Patterns",
    "Phones",
    "Policy",
    "QrCodes",
    "Repeat",
    "Rule",
    "RuleError",
    "Sanction",
    "Seat",
    "Seen",
    "Target",
    "UndoPlan",
    "Window",
    "Wording",
    "blacklist_refusal",
    "blacklist_removals",
    "blacklisted",
    "context_of",
    "load_policy",
    "load_windows",
    "moderate",
    "remember",
    "undo_actions",
    "undo_plan",
    "user_key",
    "window_actions",
    "window_from_dict",
]
