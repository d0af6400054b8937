"""Undo: taking a logged moderation decision back.

``undo_plan`` turns a decision's actions back (unmute, unban, unmute-all) and says what
cannot be undone (a deleted message, a kick, a refused join) and whether the warning it
gave should stop counting.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from shequn.core import Action, ActionType
from shequn.features.moderation.detect import Wording

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
    "UndoPlan",
    "undo_actions",
    "undo_plan",
]
