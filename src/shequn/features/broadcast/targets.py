"""Who gets a broadcast: a target spec, resolved over the groups (and segments) passed in.

A spec is one or more selectors separated by commas, their union:

- ``all`` — every group;
- ``tag:NAME`` — groups carrying the tag (case does not matter);
- ``group:ID`` — one group, by shequn's id;
- ``platform:NAME`` — every group on a platform (``telegram``, ``wecom``…);
- ``community:NAME`` — every group of a community, by name or id;
- ``segment:NAME`` — the members of a segment, each by direct message where the platform
  and the member allow it.

Every selector must match something: a typo (``tag:vpi``) is refused, naming the selector
and what it could have matched, instead of quietly sending to fewer groups than meant.
The groups and segments come from the caller (the service reads them), so resolving is
pure and its result keeps the order of the groups given.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from shequn.features.broadcast.problems import Problem, TargetError
from shequn.kit.timeutil import DEFAULT_TIMEZONE
from shequn.kit.wording import echo

MAX_SPEC = 1000
MAX_KEY = 64


class Kind(StrEnum):
    ALL = "all"
    TAG = "tag"
    GROUP = "group"
    PLATFORM = "platform"
    COMMUNITY = "community"
    SEGMENT = "segment"


@dataclass(frozen=True, slots=True)
class GroupInfo:
    """What the broadcast core needs to know of one group. ``id`` is shequn's id (as text),
    ``external_id`` the platform's, which actions carry; ``zone`` and ``lang`` are its
    community's."""

    id: str
    platform: str
    external_id: str
    name: str = ""
    community: str = ""
    community_id: int | None = None
    tags: frozenset[str] = frozenset()
    member_count: int = 0
    zone: str = DEFAULT_TIMEZONE
    lang: str = "zh-CN"

    def __post_init__(self) -> None:
        object.__setattr__(self, "tags", frozenset(self.tags))
        if not self.id or len(self.id) > MAX_KEY:
            raise ValueError(f"a group's id must be 1 to {MAX_KEY} characters, not {self.id!r}")

    @property
    def key(self) -> str:
        """The recipient's name in idempotency keys and daily counts."""
        return f"g{self.id}"


@dataclass(frozen=True, slots=True)
class MemberInfo:
    """A member of a segment, as one account on one platform. ``user`` is the platform's
    id of that account; ``supports_dm`` whether the bot can message it directly (on
    Telegram only users who started the bot; on QQ friends and members of a shared group)."""

    member_id: int
    platform: str
    user: str
    name: str = ""
    community: str = ""
    community_id: int | None = None
    supports_dm: bool = True
    zone: str = DEFAULT_TIMEZONE
    lang: str = "zh-CN"

    @property
    def key(self) -> str:
        return f"m{self.member_id}"


@dataclass(frozen=True, slots=True)
class Selector:
    kind: Kind
    value: str = ""

    def to_text(self) -> str:
        return self.kind.value if self.kind is Kind.ALL else f"{self.kind.value}:{self.value}"


@dataclass(frozen=True, slots=True)
class Audience:
    """The resolved recipients: groups in the order given, segment members once each."""

    groups: tuple[GroupInfo, ...] = ()
    members: tuple[MemberInfo, ...] = ()
    selectors: tuple[Selector, ...] = field(default=(), compare=False)

    def __len__(self) -> int:
        return len(self.groups) + len(self.members)


def parse_targets(text: str) -> tuple[Selector, ...]:
    """The selectors of a spec; ``TargetError`` names each one that cannot be read."""
    if not isinstance(text, str) or not text.strip():
        raise TargetError(
            [
                Problem(
                    "to",
                    "is empty; write all, tag:NAME, group:ID, platform:NAME, community:NAME "
                    "or segment:NAME",
                    "为空；请写 all、tag:名称、group:ID、platform:平台、community:社群"
                    " 或 segment:分群",
                )
            ]
        )
    if len(text) > MAX_SPEC:
        raise TargetError(
            [Problem("to", f"is longer than {MAX_SPEC} characters", f"超过 {MAX_SPEC} 个字符")]
        )
    selectors: list[Selector] = []
    problems: list[Problem] = []
    for part in (p.strip() for p in re.split(r"[,，]", text)):
        if not part:
            continue
        word, colon, value = part.partition(":")
        kind = Kind.__members__.get(word.strip().upper())
        value = value.strip()
        if kind is Kind.ALL and not colon:
            selector = Selector(Kind.ALL)
        elif kind is not None and kind is not Kind.ALL and value:
            selector = Selector(kind, value)
        else:
            problems.append(
                Problem(
                    f"to “{echo(part)}”",
                    "is not all, tag:NAME, group:ID, platform:NAME, community:NAME or segment:NAME",
                    "不是 all、tag:名称、group:ID、platform:平台、community:社群 或 segment:分群",
                )
            )
            continue
        if selector not in selectors:
            selectors.append(selector)
    if problems:
        raise TargetError(problems)
    if not selectors:
        raise TargetError([Problem("to", "names no target", "没有指定对象")])
    return tuple(selectors)


def _matches(selector: Selector, group: GroupInfo) -> bool:
    value = selector.value
    if selector.kind is Kind.ALL:
        return True
    if selector.kind is Kind.TAG:
        return value.casefold() in {t.casefold() for t in group.tags}
    if selector.kind is Kind.GROUP:
        return group.id == value
    if selector.kind is Kind.PLATFORM:
        return group.platform.casefold() == value.casefold()
    if selector.kind is Kind.COMMUNITY:
        return group.community == value or (
            group.community_id is not None and str(group.community_id) == value
        )
    return False


def _known(values: Iterable[str]) -> str:
    shown = sorted(set(values))
    text = ", ".join(echo(v, 24) for v in shown[:10])
    return (text + ("…" if len(shown) > 10 else "")) or "none"


def _nothing(selector: Selector, groups: Sequence[GroupInfo]) -> Problem:
    what = selector.to_text()
    known = {
        Kind.TAG: lambda: _known(t for g in groups for t in g.tags),
        Kind.GROUP: lambda: f"{len(groups)} groups",
        Kind.PLATFORM: lambda: _known(g.platform for g in groups),
        Kind.COMMUNITY: lambda: _known(g.community for g in groups if g.community),
        Kind.ALL: lambda: "no groups",
    }[selector.kind]()
    return Problem(
        f"to “{echo(what)}”",
        f"matches no group (known: {known})",
        f"没有匹配的群（已有：{known}）",
    )


def resolve_targets(
    spec: str | Sequence[Selector],
    groups: Sequence[GroupInfo],
    *,
    segments: Mapping[str, Sequence[MemberInfo]] | None = None,
) -> Audience:
    """The recipients ``spec`` names among ``groups`` and the members of ``segments``
    (segment name → its members). ``TargetError`` lists every selector matching nothing."""
    selectors = parse_targets(spec) if isinstance(spec, str) else tuple(spec)
    problems: list[Problem] = []
    chosen: set[str] = set()
    members: list[MemberInfo] = []
    seen_members: set[int] = set()
    for selector in selectors:
        if selector.kind is Kind.SEGMENT:
            found = (segments or {}).get(selector.value)
            if found is None:
                known = _known((segments or {}).keys())
                problems.append(
                    Problem(
                        f"to “{echo(selector.to_text())}”",
                        f"no such segment (known: {known})",
                        f"没有这个分群（已有：{known}）",
                    )
                )
            elif not found:
                problems.append(
                    Problem(
                        f"to “{echo(selector.to_text())}”",
                        "the segment has no members",
                        "该分群没有成员",
                    )
                )
            for member in found or ():
                if member.member_id not in seen_members:
                    seen_members.add(member.member_id)
                    members.append(member)
            continue
        hits = [g.id for g in groups if _matches(selector, g)]
        if not hits:
            problems.append(_nothing(selector, groups))
        chosen.update(hits)
    if problems:
        raise TargetError(problems)
    return Audience(
        groups=tuple(g for g in groups if g.id in chosen),
        members=tuple(members),
        selectors=selectors,
    )
