"""The simulated platform speaks shequn's own segments, so nothing is ever lost."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shequn.core import Message


@dataclass(frozen=True, slots=True)
class Rendered:
    payload: list[dict[str, Any]]
    lost: tuple[str, ...] = ()


def to_platform(message: Message) -> Rendered:
    return Rendered(message.to_list())


def from_platform(payload: list[dict[str, Any]]) -> Message:
    return Message.from_list(payload)
