"""What the simulated platform can do: everything a chat platform can, instantly."""

from __future__ import annotations

from shequn.adapters.base import STATE_SETTING
from shequn.core import ActionType
from shequn.core.actions import INTERNAL

CAPABILITIES = frozenset(ActionType) - INTERNAL
#: The journal answers whether an action happened, but a repeat of a state-setting
#: action is harmless anyway.
REPEATABLE = STATE_SETTING
