"""Invite codes: handed out through a channel, redeemed by members, tracked per source.

A code is single-use (``max_uses=1``), multi-use (``max_uses=n``) or unlimited
(``max_uses=None``), and may expire. Each code remembers which sources redeemed it and
when; the ``source`` of a redemption is who redeems — a member's platform-qualified id such
as ``onebot:12345`` — so a member who retries a request with the same code is let through
again without spending another use. The code's ``channel`` is where it was handed out (a
poster, a newsletter, a partner): the redemption carries it so that the member's entry
source can be recorded, and ``usage_by_channel`` counts arrivals per channel.

Codes are generated from a seeded ``random.Random`` passed in, over an alphabet without
0/O/1/I, which readers confuse when they copy a code from a poster. Everything is a value:
``redeem`` returns the decision and the new state and never changes the old one.
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from shequn.features.admission import (
    Problems,
    Reader,
    RuleError,
    Wording,
    require_aware,
    visible,
)

#: Digits and capitals a reader cannot mistake for one another: no 0/O, no 1/I.
ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
DEFAULT_LENGTH = 8
MIN_LENGTH = 4
MAX_CODE = 32
MAX_CHANNEL = 64
#: The most codes one call generates: a print run, not a database fill.
MAX_BATCH = 10_000
_SEPARATORS = frozenset(" -_\t\n")


def normalize_code(text: str) -> str:
    """A code as typed, in the form it is stored: full-width folded (NFKC), upper case,
    without the spaces and dashes people add when they copy it (``abcd-efgh`` → ``ABCDEFGH``)."""
    folded = unicodedata.normalize("NFKC", text).upper()
    return "".join(ch for ch in folded if ch not in _SEPARATORS)


def _code_problem(code: str) -> Wording | None:
    if not code:
        return Wording("is empty", "为空")
    if len(code) > MAX_CODE:
        return Wording(f"is longer than {MAX_CODE} characters", f"超过 {MAX_CODE} 个字符")
    if not (code.isascii() and code.isalnum()):
        return Wording("may hold only letters A–Z and digits", "只能包含字母 A–Z 和数字")
    return None


@dataclass(frozen=True, slots=True)
class Use:
    """One redemption: who (``source``) and when."""

    source: str
    at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "at": self.at.isoformat()}


@dataclass(frozen=True, slots=True)
class InviteCode:
    """One code. ``max_uses`` None means unlimited; ``uses`` holds one entry per source."""

    code: str
    created_at: datetime
    expires_at: datetime | None = None
    max_uses: int | None = 1
    channel: str | None = None
    revoked: bool = False
    uses: tuple[Use, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "code", normalize_code(self.code))
        problems = Problems(f"invite code {visible(self.code, 40) or '?'}")
        why = _code_problem(self.code)
        if why is not None:
            problems.add("code", why.en, why.zh)
        problems.aware("created_at", self.created_at)
        problems.aware("expires_at", self.expires_at)
        if (
            self.expires_at is not None
            and not problems.found
            and self.expires_at <= self.created_at
        ):
            problems.add(
                "expires_at",
                "is not after created_at: the code would be born expired",
                "不晚于创建时间：邀请码一创建就已过期",
            )
        if self.max_uses is not None and self.max_uses < 1:
            problems.add(
                "max_uses",
                "must be at least 1 (or empty for unlimited)",
                "至少为 1（留空表示不限次数）",
            )
        if self.channel is not None and len(self.channel) > MAX_CHANNEL:
            problems.add(
                "channel", f"is longer than {MAX_CHANNEL} characters", f"超过 {MAX_CHANNEL} 个字符"
            )
        problems.raise_if_any()

    @property
    def used(self) -> int:
        return len(self.uses)

    @property
    def remaining(self) -> int | None:
        return None if self.max_uses is None else max(self.max_uses - self.used, 0)

    def used_by(self, source: str) -> Use | None:
        return next((u for u in self.uses if u.source == source), None)

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and now >= self.expires_at

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "code": self.code,
            "created_at": self.created_at.isoformat(),
            "max_uses": self.max_uses,
            "uses": [u.to_dict() for u in self.uses],
        }
        if self.expires_at is not None:
            out["expires_at"] = self.expires_at.isoformat()
        if self.channel is not None:
            out["channel"] = self.channel
        if self.revoked:
            out["revoked"] = True
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> InviteCode:
        read = Reader(data, "invite code")
        uses = []
        for item in read.objects("uses"):
            source, at = item.get("source"), item.get("at")
            try:
                when = datetime.fromisoformat(at) if isinstance(at, str) else None
            except ValueError:
                when = None
            if not isinstance(source, str) or when is None or when.tzinfo is None:
                read.add(
                    "uses", "each use needs a source and an aware time", "每次使用需要来源和时间"
                )
                continue
            uses.append(Use(source, when))
        values = {
            "code": read.text("code"),
            "created_at": read.moment("created_at", required=True),
            "expires_at": read.moment("expires_at"),
            "max_uses": read.integer("max_uses", None),
            "channel": read.text("channel", None),
            "revoked": read.flag("revoked", False),
        }
        read.raise_if_any()
        return cls(**values, uses=tuple(uses))


@dataclass(frozen=True, slots=True)
class CodesState:
    """Every code of one group (or one community, as the caller keeps them)."""

    codes: tuple[InviteCode, ...] = ()
    _index: Mapping[str, int] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index: dict[str, int] = {}
        duplicates = []
        for position, code in enumerate(self.codes):
            if code.code in index:
                duplicates.append(code.code)
            index[code.code] = position
        if duplicates:
            problems = Problems("invite codes")
            shown = ", ".join(sorted(set(duplicates))[:5])
            problems.add("codes", f"appear more than once: {shown}", f"有重复的邀请码：{shown}")
            problems.raise_if_any()
        object.__setattr__(self, "_index", index)

    def find(self, code: str) -> InviteCode | None:
        position = self._index.get(normalize_code(code))
        return self.codes[position] if position is not None else None

    def with_code(self, code: InviteCode) -> CodesState:
        """This state with ``code`` replaced (matched by its text) or added."""
        position = self._index.get(code.code)
        if position is None:
            return CodesState((*self.codes, code))
        return CodesState((*self.codes[:position], code, *self.codes[position + 1 :]))

    def to_dict(self) -> dict[str, Any]:
        return {"codes": [c.to_dict() for c in self.codes]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CodesState:
        read = Reader(data, "invite codes")
        codes = []
        for item in read.objects("codes"):
            try:
                codes.append(InviteCode.from_dict(item))
            except RuleError as error:
                read.extend(error.problems)
        read.raise_if_any()
        return cls(tuple(codes))


class Outcome(StrEnum):
    REDEEMED = "redeemed"
    #: This source had redeemed the code before: let through again, no use spent.
    ALREADY_REDEEMED = "already_redeemed"
    NO_CODE = "no_code"
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    USED_UP = "used_up"
    REVOKED = "revoked"

    @property
    def ok(self) -> bool:
        return self in (Outcome.REDEEMED, Outcome.ALREADY_REDEEMED)


_WORDING: Mapping[Outcome, Wording] = {
    Outcome.REDEEMED: Wording("invite code {code} accepted", "邀请码 {code} 有效"),
    Outcome.ALREADY_REDEEMED: Wording(
        "invite code {code} was already redeemed by this member", "该成员此前已使用邀请码 {code}"
    ),
    Outcome.NO_CODE: Wording("no invite code was given", "未提供邀请码"),
    Outcome.UNKNOWN: Wording("invite code {code} does not exist", "邀请码 {code} 不存在"),
    Outcome.EXPIRED: Wording("invite code {code} has expired", "邀请码 {code} 已过期"),
    Outcome.USED_UP: Wording("invite code {code} has been used up", "邀请码 {code} 已用完"),
    Outcome.REVOKED: Wording("invite code {code} was withdrawn", "邀请码 {code} 已作废"),
}


@dataclass(frozen=True, slots=True)
class Redemption:
    """What one redemption attempt decided. ``code`` is the normalized code as typed
    (clipped for display); ``channel`` is where the code was handed out."""

    outcome: Outcome
    code: str
    source: str
    reason: Wording
    channel: str | None = None
    uses_left: int | None = None

    @property
    def ok(self) -> bool:
        return self.outcome.ok

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome.value,
            "code": self.code,
            "source": self.source,
            "channel": self.channel,
            "uses_left": self.uses_left,
            "reason": self.reason.to_dict(),
        }


def _result(
    outcome: Outcome, code: str, source: str, found: InviteCode | None = None
) -> Redemption:
    shown = visible(code, MAX_CODE)
    template = _WORDING[outcome]
    return Redemption(
        outcome,
        shown,
        source,
        Wording(template.en.format(code=shown), template.zh.format(code=shown)),
        channel=found.channel if found is not None else None,
        uses_left=found.remaining if found is not None else None,
    )


def redeem(
    state: CodesState, code: str, now: datetime, source: str
) -> tuple[Redemption, CodesState]:
    """Try ``code`` for ``source`` at ``now``: the decision, and the state to store.

    The state changes only on ``REDEEMED`` (one more use recorded). A source that already
    redeemed the code gets ``ALREADY_REDEEMED`` and the same state, even if the code has
    since expired or run out: its use was counted while the code was good. A revoked code
    refuses everyone, including earlier users.
    """
    require_aware(now)
    typed = normalize_code(code)
    if not typed:
        return _result(Outcome.NO_CODE, "", source), state
    found = state.find(typed)
    if found is None:
        return _result(Outcome.UNKNOWN, typed, source), state
    if found.revoked:
        return _result(Outcome.REVOKED, found.code, source, found), state
    if found.used_by(source) is not None:
        return _result(Outcome.ALREADY_REDEEMED, found.code, source, found), state
    if found.expired(now):
        return _result(Outcome.EXPIRED, found.code, source, found), state
    if found.remaining == 0:
        return _result(Outcome.USED_UP, found.code, source, found), state
    spent = replace(found, uses=(*found.uses, Use(source, now)))
    return _result(Outcome.REDEEMED, spent.code, source, spent), state.with_code(spent)


def generate(
    rng: random.Random,
    count: int,
    *,
    length: int = DEFAULT_LENGTH,
    taken: Collection[str] = (),
) -> tuple[str, ...]:
    """``count`` new distinct codes of ``length`` characters from ``ALPHABET``, none of them
    in ``taken``. The same seed gives the same codes, so a print run can be reproduced."""
    if not 1 <= count <= MAX_BATCH:
        raise ValueError(f"count must be between 1 and {MAX_BATCH}")
    if not MIN_LENGTH <= length <= MAX_CODE:
        raise ValueError(f"length must be between {MIN_LENGTH} and {MAX_CODE}")
    used = {normalize_code(t) for t in taken}
    if len(used) + count > len(ALPHABET) ** length // 2:
        # Past half the space, drawing a free code gets ever slower; longer codes are the fix.
        raise ValueError(f"too few free codes of length {length}; use longer codes")
    made: list[str] = []
    while len(made) < count:
        code = "".join(rng.choice(ALPHABET) for _ in range(length))
        if code not in used:
            used.add(code)
            made.append(code)
    return tuple(made)


def issue(
    state: CodesState,
    codes: Collection[str],
    *,
    now: datetime,
    expires_at: datetime | None = None,
    max_uses: int | None = 1,
    channel: str | None = None,
) -> CodesState:
    """``state`` with ``codes`` added, all with the same terms.

    Raises RuleError, listing every problem, for a code already in ``state``, a bad code,
    an expiry not after ``now`` or a use limit below one.
    """
    require_aware(now)
    problems = Problems("invite codes")
    made: list[InviteCode] = []
    seen: set[str] = set()
    for code in codes:
        try:
            made_code = InviteCode(code, now, expires_at, max_uses, channel)
        except RuleError as error:
            problems.extend(error.problems)
            continue
        if made_code.code in seen or state.find(made_code.code) is not None:
            problems.add("codes", f"{made_code.code} already exists", f"{made_code.code} 已存在")
            continue
        seen.add(made_code.code)
        made.append(made_code)
    problems.raise_if_any()
    return CodesState((*state.codes, *made))


def revoke(state: CodesState, code: str) -> CodesState:
    """``state`` with ``code`` withdrawn; an unknown code leaves it as it was."""
    found = state.find(code)
    return state if found is None else state.with_code(replace(found, revoked=True))


def usage_by_channel(state: CodesState) -> dict[str, int]:
    """How many members arrived through each channel's codes (``""`` for codes without one)."""
    counts: dict[str, int] = {}
    for code in state.codes:
        key = code.channel or ""
        counts[key] = counts.get(key, 0) + code.used
    return counts
