"""The community blacklist: people removed from every group and refused at the door.

The blacklist is the caller's first check on a message: a blacklisted sender is removed
(``blacklist_removals``) and ``moderate`` is not called. A join request from one is
refused (``blacklist_refusal``).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from shequn.core import Action, ActionType
from shequn.features.moderation.detect import Wording

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


__all__ = [
    "BLACKLIST_RULE",
    "Seat",
    "blacklist_refusal",
    "blacklist_removals",
    "blacklisted",
    "user_key",
]
