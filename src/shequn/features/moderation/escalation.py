"""What a manual warning (``/warn``) leads to on the warning ladder. Pure.

The commands processor sends the warning itself; when the warning makes the member reach a
ladder step, the step's sanction is carried out and a notice in the group says why.
"""

from __future__ import annotations

from datetime import UTC, datetime

from shequn.core import Action, ActionType, Mention, Message
from shequn.features.moderation import Ladder, Penalty, Seat, Step, Wording
from shequn.features.moderation.ladder import span


def escalation(
    step: Step,
    ladder: Ladder,
    count: int,
    seat: Seat,
    name: str | None,
    now: datetime,
    lang: str,
) -> list[Action]:
    """The sanction a manual warning's ladder step brings, and a notice saying so; nothing
    below the first step (the commands processor has already sent the warning)."""
    if step.penalty is Penalty.WARN:
        return []
    within = Wording(span(ladder.expiry, "en"), span(ladder.expiry, "zh-CN"))
    done = step.describe()
    said = Wording(
        f"warning {count} within {within.en}: you have been {done.en}.",
        f"{within.zh}内第 {count} 次警告，已{done.zh}。",
    )
    platform, group, user = seat.platform, seat.group, seat.user
    where = {"platform": platform, "group": group, "user": user, "reason": said.pick(lang)}
    params: dict[str, object] = {"rule": "ladder", "step": step.at}
    if step.penalty is Penalty.MUTE and step.duration is not None:
        params["until"] = (now + step.duration).astimezone(UTC).isoformat()
        sanction = Action(ActionType.MUTE, duration=step.duration, params=params, **where)
    else:
        kind = ActionType.BAN if step.penalty is Penalty.BAN else ActionType.KICK
        sanction = Action(kind, params=params, **where)
    notice = Action(
        ActionType.SEND_MESSAGE,
        platform=platform,
        group=group,
        user=user,
        message=Message.of(Mention(user=user, name=name), " " + said.pick(lang)),
        reason=said.pick(lang),
        params={"rule": "ladder"},
    )
    return [sanction, notice]


__all__ = ["escalation"]
