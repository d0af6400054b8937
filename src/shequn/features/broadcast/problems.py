"""What the broadcast core says when something is wrong, in both operators' languages.

Every refusal names *where* (a field of a post, a character of a schedule, a target) and
*what*, so that the dashboard, the API and the CLI can show it as it is. The errors derive
from ``kit.errors.RuleError`` because the shell already knows how to show that family:
``lines(lang)`` gives one line per problem, in the reader's language.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from shequn.kit.errors import RuleError
from shequn.kit.wording import is_chinese


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong (or lost) at one place: ``where`` is a field path such as
    ``variants.en.text`` or ``images[1].url``, a schedule's character, or a target."""

    where: str
    en: str
    zh: str

    def text(self, lang: str = "en") -> str:
        if is_chinese(lang):
            return f"{self.where}：{self.zh}"
        return f"{self.where}: {self.en}"

    def to_dict(self) -> dict[str, Any]:
        return {"where": self.where, "en": self.en, "zh-CN": self.zh}


class BroadcastError(RuleError):
    """Input the broadcast feature refuses; ``problems`` lists every reason found, so that
    an operator fixes them in one pass."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(p.text("en") for p in self.problems) or "invalid broadcast")

    def lines(self, lang: str) -> list[str]:
        return [p.text(lang) for p in self.problems]


class PostError(BroadcastError):
    """A post that cannot be sent as written: empty, an unknown variable, a bad image."""


class ScheduleError(BroadcastError):
    """A schedule that cannot be read or can never run."""


class TargetError(BroadcastError):
    """A target spec that cannot be read or matches nothing."""


class PacingError(BroadcastError):
    """Pacing settings that cannot work: a cap below one, quiet hours all day."""


class UnknownPlatform(BroadcastError):
    """A platform the broadcast core has no profile for: nothing can be said about what
    it shows, so nothing is rendered for it."""
