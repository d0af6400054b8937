"""The errors of moderation's operator service: each names the entry or member and why."""

from __future__ import annotations

from shequn.kit.errors import ShequnError


class ModerationError(ShequnError):
    """An operator's moderation request that cannot be carried out."""


class EntryNotFound(ModerationError):
    """No log entry with that id in this community (or no such community)."""


class AlreadyUndone(ModerationError):
    """The decision was undone already (by this operator or another)."""


class NothingToUndo(ModerationError):
    """The decision did nothing a platform can reverse (a deletion, a kick…)."""


class UnknownMember(ModerationError):
    """No member with that id in the community's workspace."""


__all__ = ["AlreadyUndone", "EntryNotFound", "ModerationError", "NothingToUndo", "UnknownMember"]
