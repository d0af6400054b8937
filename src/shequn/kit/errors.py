"""The error tree.

Every error shequn raises on purpose derives from ``ShequnError`` so that the
shell (CLI, web, runtime) can tell a known failure, which it reports cleanly,
from a bug, which it lets surface::

    ShequnError
    ├── ConfigError            settings that cannot work
    ├── InvalidEvent           an event that fails normalisation (says which field)
    ├── InvalidAction          an action missing what its type needs
    ├── StoreError             the database refused or is in the wrong shape
    │   └── MigrationError
    └── features add their own base here (e.g. ImportError_ in importers)
"""

from __future__ import annotations


class ShequnError(Exception):
    """Root of every deliberate shequn failure."""


class ConfigError(ShequnError):
    """Settings that cannot work together or cannot be read."""


class InvalidEvent(ShequnError):
    """An event failed normalisation; the message names the field and the event."""


class InvalidAction(ShequnError):
    """An action lacks what its type requires."""


class StoreError(ShequnError):
    """The database could not do what was asked."""


class MigrationError(StoreError):
    """The schema is not at the revision the code expects."""


class RuleError(ShequnError):
    """A rule that cannot work, refused when it is saved or built.

    Every family of rules (auto-reply, moderation, admission…) raises a subclass carrying
    all the problems it found at once, so that an operator fixes them in one pass. The
    shell only needs this base: ``lines(lang)`` gives each problem in the reader's
    language, naming the rule, the field and why.
    """

    problems: tuple[object, ...] = ()

    def lines(self, lang: str) -> list[str]:
        return [str(getattr(p, "text")(lang)) for p in self.problems]  # noqa: B009

    def text(self, lang: str) -> str:
        return "\n".join(self.lines(lang)) or str(self)
