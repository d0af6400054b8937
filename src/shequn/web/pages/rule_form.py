"""The rule form, pure: what an operator typed in, turned into a rule's settings and the
problems with them; and a stored rule turned back into what the form shows.

Every kind's settings are a JSON document in a textarea. Auto-reply and moderation rules,
the ones operators write most, also get friendly fields for their common settings (the
match, the patterns, the reply, the cooldown; the check, the banned words, the actions,
the mute). Those settings are then left out of the JSON, and a friendly field that is
filled in wins over the same setting typed into the JSON. The form's own problems (JSON
that does not parse, a position that is not a number) come back as catalogue messages
for the page to translate; the family's logic judges the settings themselves. What the
form calls each kind, match, check and action is here too, as catalogue messages.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shequn.features.autoreply import MatchKind
from shequn.features.moderation.rules import CHECKS, Sanction
from shequn.features.rules.kinds import (
    ADMISSION,
    AUTOREPLY,
    LADDER,
    LOBBY,
    MODERATION,
    NAMECARD,
    WELCOME,
    WINDOW,
)
from shequn.web.api.rule_edits import MAX_POSITION, clean_name, storable_settings
from shequn.web.pages.overview import N_

#: The friendly fields of each kind that has them; the template draws them.
FRIENDLY: dict[str, tuple[str, ...]] = {
    AUTOREPLY: ("match", "patterns", "reply", "cooldown_s"),
    MODERATION: ("check", "words", "actions", "mute_s"),
}
MATCHES = tuple(m.value for m in MatchKind)
CHECK_KINDS = tuple(CHECKS)
SANCTIONS = tuple(s.value for s in Sanction)
BANNED_WORDS = "banned_words"


#: Each kind's name and what it is for, in the order the page lists them.
KIND_LABELS = {
    "autoreply": N_("Auto-reply"),
    "moderation": N_("Moderation"),
    "ladder": N_("Warning ladder"),
    "window": N_("Mute window"),
    "admission": N_("Admission"),
    "lobby": N_("Lobby"),
    "namecard": N_("Name card"),
    "welcome": N_("Welcome"),
}
KIND_HINTS = {
    "autoreply": N_("Answers questions that match keywords, patterns or similar text."),
    "moderation": N_("Banned words, links, ads, floods: what a message leads to."),
    "ladder": N_("What repeated warnings lead to, e.g. 3 warnings in 7 days: a day's mute."),
    "window": N_("Night mode and mute-all windows, e.g. during a talk."),
    "admission": N_("How join requests are decided: questions, invite codes, payment."),
    "lobby": N_("When members of the lobby group move on to the main group."),
    "namecard": N_("The group nickname format, checked with reminders."),
    "welcome": N_("The message newcomers get, with the group's rules."),
}
MATCH_LABELS = {
    "exact": N_("Exactly"),
    "contains": N_("Contains"),
    "prefix": N_("Starts with"),
    "regex": N_("Regular expression"),
    "fuzzy": N_("Similar (fuzzy)"),
}
CHECK_LABELS = {
    "banned_words": N_("Banned words"),
    "links": N_("Links"),
    "invites": N_("Invitations to other groups"),
    "phones": N_("Phone numbers"),
    "qr_codes": N_("QR code images"),
    "advertising": N_("Advertising"),
    "patterns": N_("Patterns"),
    "flood": N_("Flooding"),
    "repeat": N_("The same message across groups"),
    "new_member": N_("Limits on new members"),
}
SANCTION_LABELS = {
    "delete": N_("Delete the message"),
    "warn": N_("Warn"),
    "mute": N_("Mute"),
    "kick": N_("Remove"),
    "ban": N_("Ban"),
}


@dataclass(frozen=True, slots=True)
class FormProblem:
    """A problem with the form itself: a catalogue message and its values."""

    message: str
    values: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RuleForm:
    """The form's values as typed (and as shown again when the rule is refused)."""

    name: str = ""
    group_id: str = ""
    enabled: bool = True
    position: str = "0"
    settings: str = "{}"
    fields: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ReadForm:
    """What a submitted form says, and what is wrong with it. ``config`` is None when
    the JSON could not be read; the rest falls back to harmless values then."""

    name: str
    group_id: int | None
    enabled: bool
    position: int
    config: dict[str, Any] | None
    problems: list[FormProblem]


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.replace("\r\n", "\n").split("\n") if line.strip()]


def _one_line_texts(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(v, str) and "\n" not in v and "\r" not in v and v.strip() == v and v
        for v in value
    )


def _number_text(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return str(int(value)) if float(value).is_integer() else str(value)


def _number(text: str) -> int | float | str:
    """A number as typed; text that is not one is handed on for the family to refuse."""
    text = text.strip()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def split(kind: str, config: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A stored rule's settings as (friendly field values, the rest for the JSON). A
    setting the friendly fields cannot show faithfully stays in the JSON."""
    rest = dict(config)
    fields: dict[str, Any] = {}
    if kind == AUTOREPLY:
        if rest.get("kind") in MATCHES:
            fields["match"] = rest.pop("kind")
        if _one_line_texts(rest.get("patterns")):
            fields["patterns"] = "\n".join(rest.pop("patterns"))
        reply = rest.get("reply")
        if isinstance(reply, str) and "\r" not in reply and reply.strip():
            fields["reply"] = rest.pop("reply")
        if (shown := _number_text(rest.get("cooldown_s"))) is not None:
            rest.pop("cooldown_s")
            fields["cooldown_s"] = shown
    elif kind == MODERATION:
        check = rest.get("kind")
        if check in CHECK_KINDS:
            fields["check"] = rest.pop("kind")
        params = rest.get("params")
        if (
            check == BANNED_WORDS
            and isinstance(params, Mapping)
            and set(params) == {"words"}
            and _one_line_texts(params["words"])
        ):
            fields["words"] = "\n".join(params["words"])
            rest.pop("params")
        actions = rest.get("actions")
        if isinstance(actions, list) and all(a in SANCTIONS for a in actions):
            fields["actions"] = list(rest.pop("actions"))
        if (shown := _number_text(rest.get("mute_s"))) is not None:
            rest.pop("mute_s")
            fields["mute_s"] = shown
    return fields, rest


def merge(kind: str, fields: Mapping[str, Any], rest: Mapping[str, Any]) -> dict[str, Any]:
    """The settings of a submitted form: the JSON's, with each filled-in friendly field
    over it."""
    config = dict(rest)

    def text(name: str) -> str:
        value = fields.get(name)
        return value.replace("\r\n", "\n") if isinstance(value, str) else ""

    if kind == AUTOREPLY:
        if text("match").strip():
            config["kind"] = text("match").strip()
        if patterns := _lines(text("patterns")):
            config["patterns"] = patterns
        if text("reply").strip():
            config["reply"] = text("reply")
        if text("cooldown_s").strip():
            config["cooldown_s"] = _number(text("cooldown_s"))
    elif kind == MODERATION:
        if text("check").strip():
            config["kind"] = text("check").strip()
        if words := _lines(text("words")):
            params = config.get("params")
            config["params"] = {**(params if isinstance(params, Mapping) else {}), "words": words}
        chosen = [a for a in fields.get("actions") or [] if isinstance(a, str)]
        if chosen or "actions" not in config:
            config["actions"] = chosen
        if text("mute_s").strip():
            config["mute_s"] = _number(text("mute_s"))
    return config


def show(kind: str, config: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """What the form shows of a rule's settings: the JSON text and the friendly fields."""
    fields, rest = split(kind, config)
    return json.dumps(rest, ensure_ascii=False, indent=2, sort_keys=True), fields


def read(kind: str, form: RuleForm, groups: Mapping[int, str]) -> ReadForm:
    """Read a submitted form; ``groups`` are the community's groups, what a scope may be."""
    problems: list[FormProblem] = []
    try:
        name = clean_name(form.name)
    except ValueError:
        name = form.name.strip()[:120] or "?"
        problems.append(FormProblem(N_("Give the rule a one-line name of at most 120 characters.")))
    group_id: int | None = None
    if form.group_id.strip():
        text = form.group_id.strip()
        if text.isdigit() and int(text) in groups:
            group_id = int(text)
        else:
            problems.append(FormProblem(N_("Choose a group of this community, or every group.")))
    position = 0
    text = form.position.strip() or "0"
    if text.isdigit() and int(text) <= MAX_POSITION:
        position = int(text)
    else:
        problems.append(
            FormProblem(
                N_("The position must be a whole number from 0 to %(most)s."),
                {"most": MAX_POSITION},
            )
        )
    config = _settings(form.settings, problems)
    if config is not None and kind in FRIENDLY:
        config = merge(kind, form.fields, config)
    return ReadForm(name, group_id, form.enabled, position, config, problems)


def _settings(text: str, problems: list[FormProblem]) -> dict[str, Any] | None:
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        problems.append(
            FormProblem(
                N_(
                    "The settings are not valid JSON: %(error)s (line %(line)s, column %(column)s)."
                ),
                {"error": error.msg, "line": error.lineno, "column": error.colno},
            )
        )
        return None
    except RecursionError:
        problems.append(FormProblem(N_("The settings nest too deeply.")))
        return None
    if not isinstance(value, dict):
        problems.append(FormProblem(N_("The settings must be a JSON object: { … }.")))
        return None
    try:
        storable_settings(value)
    except ValueError as error:
        problems.append(
            FormProblem(N_("The settings cannot be stored: %(error)s."), {"error": error})
        )
        return None
    return value


@dataclass(frozen=True, slots=True)
class GroupSpot:
    """A group as a starter's settings name it: its platform and its id there."""

    platform: str
    external_id: str


def starter(
    kind: str, groups: Sequence[GroupSpot], gettext: Callable[[str], str]
) -> dict[str, Any]:
    """Settings a new rule of ``kind`` starts from: a working example to edit, naming the
    community's own groups where the kind needs groups."""
    spots = [{"platform": g.platform, "group": g.external_id} for g in groups[:2]]
    first = spots[0] if spots else {"platform": "sim", "group": "lobby"}
    second = spots[1] if len(spots) > 1 else {"platform": first["platform"], "group": "main"}
    examples: dict[str, dict[str, Any]] = {
        AUTOREPLY: {
            "kind": "contains",
            "patterns": [gettext("how do I sign up")],
            "reply": gettext("{name}, the sign-up link is in the group notice."),
            "cooldown_s": 60,
        },
        MODERATION: {
            "kind": BANNED_WORDS,
            "params": {"words": [gettext("add me on WeChat")]},
            "actions": ["delete", "warn"],
        },
        LADDER: {
            "expiry_s": 604800,
            "steps": [{"at": 3, "penalty": "mute", "duration_s": 86400}],
        },
        WINDOW: {"kind": "daily", "start": "23:00", "end": "07:00", "targets": [first]},
        ADMISSION: {"checks": [{"kind": "question", "id": "q1", "keywords": [gettext("friend")]}]},
        LOBBY: {"lobby": first, "main": second, "min_days": 3},
        NAMECARD: {"text": "{number}-{city}-{nickname}"},
        WELCOME: {
            "text": gettext("Welcome {name} to {group}!"),
            "rules_text": gettext("1. Be kind to one another."),
        },
    }
    return examples.get(kind, {})
