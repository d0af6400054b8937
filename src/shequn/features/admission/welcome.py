"""The welcome ritual: each group greets its newcomers in its own words.

A ``WelcomeConfig`` holds the message (a template with ``{name}``, ``{number}``,
``{group}`` and ``{rules}``), the rules text, an optional delay before sending and an
optional deletion some time after.

Newcomers who join within a short window are welcomed together, in one message that
mentions them all. When a talk poster or a rotating invite sends thirty people in a
minute, thirty welcomes would flood the chat (刷屏), bury the conversation, and risk the
platform's rate limits; one welcome does the job. The window is fixed from the first join,
not sliding, so a steady trickle of arrivals cannot postpone the welcome forever, and a
batch that reaches ``max_batch`` goes at once (a message mentioning a hundred people is
itself a flood).

The queue is a plain value the caller stores per group: ``enqueue`` on each join, ``flush``
when ``Queued.due_at`` arrives (a scheduled tick), ``drop`` when a newcomer leaves before
being welcomed. The welcome's deletion needs the id the platform gives the message when it
is sent, so ``deletion`` builds it from that id, to be scheduled ``delete_after_s`` later.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from shequn.core import Action, ActionType, Message
from shequn.features.admission import (
    Problems,
    Reader,
    is_chinese,
    names_message,
    parse_template,
    require_aware,
    rule_label,
)
from shequn.features.templating.logic import Template

VARIABLES = frozenset({"name", "number", "group", "rules"})
MAX_TEXT = 2000
MAX_RULES = 4000
#: A welcome sent a day late welcomes nobody.
MAX_DELAY_S = 86400
#: Telegram deletes only messages younger than 48 hours; a day keeps well inside that.
MAX_DELETE_AFTER_S = 86400
#: A longer window makes the welcome arrive after the newcomers have stopped looking.
MAX_WINDOW_S = 600
MAX_BATCH = 50


@dataclass(frozen=True, slots=True, kw_only=True)
class WelcomeConfig:
    """One group's welcome. ``batch_window_s`` 0 welcomes each newcomer at once; ``mention``
    makes ``{name}`` @-mention the newcomers rather than print their names."""

    id: str
    name: str = ""
    text: str
    rules_text: str = ""
    delay_s: int = 0
    delete_after_s: int | None = None
    batch_window_s: int = 0
    max_batch: int = 20
    mention: bool = True
    _template: Template | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        problems = Problems(rule_label("welcome", self.id, self.name))
        problems.identity(self.id, self.name)
        if not self.text.strip():
            problems.add("text", "is empty", "为空")
        elif len(self.text) > MAX_TEXT:
            problems.add("text", f"is longer than {MAX_TEXT} characters", f"超过 {MAX_TEXT} 个字符")
        else:
            template = parse_template(self.text, VARIABLES, problems, "text")
            object.__setattr__(self, "_template", template)
            if "rules" in template.variables and not self.rules_text.strip():
                problems.add(
                    "rules_text",
                    "is empty, but the text shows {rules}",
                    "为空，但欢迎语中使用了 {rules}",
                )
        if len(self.rules_text) > MAX_RULES:
            problems.add(
                "rules_text", f"is longer than {MAX_RULES} characters", f"超过 {MAX_RULES} 个字符"
            )
        _seconds(problems, "delay_s", self.delay_s, 0, MAX_DELAY_S)
        if self.delete_after_s is not None:
            _seconds(problems, "delete_after_s", self.delete_after_s, 1, MAX_DELETE_AFTER_S)
        _seconds(problems, "batch_window_s", self.batch_window_s, 0, MAX_WINDOW_S)
        if not 1 <= self.max_batch <= MAX_BATCH:
            problems.add(
                "max_batch", f"must be between 1 and {MAX_BATCH}", f"必须在 1 到 {MAX_BATCH} 之间"
            )
        problems.raise_if_any()

    @property
    def template(self) -> Template:
        # Always set: __post_init__ refuses a text that does not parse.
        return self._template or Template(self.text, frozenset())

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "text": self.text,
            "rules_text": self.rules_text,
            "delay_s": self.delay_s,
            "delete_after_s": self.delete_after_s,
            "batch_window_s": self.batch_window_s,
            "max_batch": self.max_batch,
            "mention": self.mention,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WelcomeConfig:
        read = Reader(data, "welcome")
        values = {
            "id": read.text("id"),
            "name": read.text("name", ""),
            "text": read.text("text"),
            "rules_text": read.text("rules_text", ""),
            "delay_s": read.integer("delay_s", 0),
            "delete_after_s": read.integer("delete_after_s", None),
            "batch_window_s": read.integer("batch_window_s", 0),
            "max_batch": read.integer("max_batch", 20),
            "mention": read.flag("mention", True),
        }
        read.raise_if_any()
        return cls(**values)


def _seconds(problems: Problems, name: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        problems.add(
            name, f"must be between {low} and {high} seconds", f"必须在 {low} 到 {high} 秒之间"
        )


@dataclass(frozen=True, slots=True)
class Newcomer:
    """A member who joined: platform user id, display name, number in the group."""

    user: str
    name: str
    joined_at: datetime
    number: int | None = None


def welcome_message(
    config: WelcomeConfig, newcomers: Sequence[Newcomer], *, group_name: str, lang: str
) -> Message:
    """The welcome for ``newcomers``: names (or mentions) joined with 、 or commas, their
    numbers likewise, the group's name and its rules."""
    joiner = "、" if is_chinese(lang) else ", "
    numbers = joiner.join(str(n.number) for n in newcomers if n.number is not None)
    values = {"number": numbers, "group": group_name, "rules": config.rules_text}
    people = [(n.user, n.name) for n in newcomers]
    return names_message(config.template, values, people, lang=lang, mention=config.mention)


def welcome_actions(
    config: WelcomeConfig,
    newcomers: Sequence[Newcomer],
    *,
    platform: str,
    group: str,
    group_name: str,
    lang: str = "zh-CN",
) -> tuple[Action, ...]:
    """The welcome to send: one SEND_MESSAGE, with ``params["after_s"]`` for the delay and
    ``params["delete_after_s"]`` telling the caller to schedule ``deletion`` once sent."""
    if not newcomers:
        return ()
    params: dict[str, Any] = {"welcome_id": config.id}
    if config.delay_s:
        params["after_s"] = config.delay_s
    if config.delete_after_s is not None:
        params["delete_after_s"] = config.delete_after_s
    who = ", ".join(n.user for n in newcomers)
    return (
        Action(
            ActionType.SEND_MESSAGE,
            platform=platform,
            group=group,
            message=welcome_message(config, newcomers, group_name=group_name, lang=lang),
            params=params,
            reason=f"welcome {config.id}: {len(newcomers)} newcomer(s): {who}",
        ),
    )


def deletion(config: WelcomeConfig, *, platform: str, group: str, message_id: str) -> Action | None:
    """The deletion of a sent welcome (``message_id`` is the platform's id for it), to be
    carried out ``params["after_s"]`` seconds later; None when the welcome stays."""
    if config.delete_after_s is None:
        return None
    return Action(
        ActionType.DELETE_MESSAGE,
        platform=platform,
        group=group,
        target_message=message_id,
        params={"after_s": config.delete_after_s, "welcome_id": config.id},
        reason=f"welcome {config.id}: deleted {config.delete_after_s} s after sending",
    )


@dataclass(frozen=True, slots=True)
class WelcomeQueue:
    """Newcomers of one group waiting for their welcome; ``opened_at`` is the first join of
    the batch (None when empty)."""

    platform: str
    group: str
    group_name: str = ""
    newcomers: tuple[Newcomer, ...] = ()
    opened_at: datetime | None = None

    def due_at(self, config: WelcomeConfig) -> datetime | None:
        if self.opened_at is None:
            return None
        return self.opened_at + timedelta(seconds=config.batch_window_s)

    def emptied(self) -> WelcomeQueue:
        return replace(self, newcomers=(), opened_at=None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "platform": self.platform,
            "group": self.group,
            "group_name": self.group_name,
            "opened_at": None if self.opened_at is None else self.opened_at.isoformat(),
            "newcomers": [
                {
                    "user": n.user,
                    "name": n.name,
                    "joined_at": n.joined_at.isoformat(),
                    "number": n.number,
                }
                for n in self.newcomers
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WelcomeQueue:
        read = Reader(data, "welcome queue")
        newcomers = []
        for item in read.objects("newcomers"):
            entry = Reader(item, "welcome queue")
            user, name = entry.text("user"), entry.text("name", "")
            joined = entry.moment("joined_at", required=True)
            number = entry.integer("number", None)
            read.extend(entry.found)
            if not entry.found:
                newcomers.append(Newcomer(user, name, joined, number))
        values = {
            "platform": read.text("platform"),
            "group": read.text("group"),
            "group_name": read.text("group_name", ""),
            "opened_at": read.moment("opened_at"),
        }
        read.raise_if_any()
        return cls(**values, newcomers=tuple(newcomers))


@dataclass(frozen=True, slots=True)
class Queued:
    """The queue to store, the actions to carry out now, and when to ``flush`` next
    (None when nobody is waiting)."""

    queue: WelcomeQueue
    actions: tuple[Action, ...] = ()
    due_at: datetime | None = None


def _send(queue: WelcomeQueue, config: WelcomeConfig, lang: str) -> Queued:
    actions = welcome_actions(
        config,
        queue.newcomers,
        platform=queue.platform,
        group=queue.group,
        group_name=queue.group_name,
        lang=lang,
    )
    return Queued(queue.emptied(), actions, None)


def enqueue(
    queue: WelcomeQueue,
    newcomer: Newcomer,
    now: datetime,
    config: WelcomeConfig,
    *,
    lang: str = "zh-CN",
) -> Queued:
    """Add ``newcomer`` to the batch. Without a window, or when the batch is full, the
    welcome goes now; a newcomer already waiting (a repeated join event) is not added twice.
    A batch whose window has already passed (a tick that never came) goes now as well."""
    require_aware(now)
    waiting = queue.newcomers
    if all(n.user != newcomer.user for n in waiting):
        waiting = (*waiting, newcomer)
    opened = queue.opened_at or now
    grown = replace(queue, newcomers=waiting, opened_at=opened)
    due = grown.due_at(config)
    if config.batch_window_s == 0 or len(waiting) >= config.max_batch or (due and now >= due):
        return _send(grown, config, lang)
    return Queued(grown, (), due)


def flush(
    queue: WelcomeQueue, now: datetime, config: WelcomeConfig, *, lang: str = "zh-CN"
) -> Queued:
    """The batch's welcome when its window has passed; otherwise the queue unchanged and
    when to come back."""
    require_aware(now)
    due = queue.due_at(config)
    if not queue.newcomers:
        return Queued(queue.emptied())
    if due is not None and now < due:
        return Queued(queue, (), due)
    return _send(queue, config, lang)


def drop(queue: WelcomeQueue, user: str) -> WelcomeQueue:
    """The queue without ``user``, who left before being welcomed."""
    kept = tuple(n for n in queue.newcomers if n.user != user)
    if not kept:
        return queue.emptied()
    return replace(queue, newcomers=kept)
