"""The conduct checks: how the sender behaves, rather than what one message says.

Flooding a group, repeating the same message across groups, and posting links, invites,
QR codes or phone numbers too soon after joining. They read the sender's history and
join time as well as the message; the history they need is bounded by ``MAX_LOOKBACK``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

from shequn.features.moderation.checks import MAX_MATCHED, Hit, _domain_problems
from shequn.features.moderation.context import History, MessageContext
from shequn.features.moderation.detect import (
    Scanned,
    Wording,
    echo,
    find_invite,
    find_link,
    find_phone,
    find_qr,
)
from shequn.features.moderation.ladder import span
from shequn.features.moderation.reader import _Reader

#: The longest time window a flood or repeat rule may look back over; it bounds the
#: history the caller has to keep.
MAX_LOOKBACK = timedelta(days=1)
#: The longest a member counts as new: 90 days.
MAX_NEW_HOURS = 90 * 24


def _positive_seconds(seconds: float, what: Wording) -> list[Wording]:
    if seconds <= 0:
        return [Wording(f"{what.en} must be longer than zero", f"{what.zh}必须大于零")]
    if seconds > MAX_LOOKBACK.total_seconds():
        most = span(MAX_LOOKBACK, "en"), span(MAX_LOOKBACK, "zh")
        return [Wording(f"{what.en} is at most {most[0]}", f"{what.zh}最长 {most[1]}")]
    return []


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


__all__ = [
    "MAX_LOOKBACK",
    "MAX_NEW_HOURS",
    "NEW_MEMBER_LIMITS",
    "Flood",
    "NewMember",
    "Repeat",
]
