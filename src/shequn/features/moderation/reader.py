"""Reading stored configuration (rules, policies, mute-all windows) that may be malformed.

An operator who saves a rule with three mistakes should see all three at once, not fix
them one save at a time; so the reader collects every problem instead of stopping at the
first, and names each field by its path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shequn.features.moderation.detect import echo
from shequn.kit.wording import Wording


class _Reader:
    """Reads a rule's stored dict, collecting every problem instead of stopping at one.

    A field of the wrong type reads as its default, so a later semantic check does not
    report the same field twice.
    """

    def __init__(self, data: Any, prefix: str = "") -> None:
        self.data: Mapping[str, Any] = data if isinstance(data, Mapping) else {}
        self.prefix = prefix
        self.problems: list[Wording] = []
        self.asked: set[str] = set()
        if not isinstance(data, Mapping):
            self.problems.append(
                Wording(
                    f"{prefix or 'the rule'} must be an object", f"{prefix or '规则'}必须是对象"
                )
            )

    def get(self, key: str, default: Any = None) -> Any:
        self.asked.add(key)
        return self.data.get(key, default)

    def unknown(self) -> list[Wording]:
        """Fields nobody asked for: a misspelt name would otherwise be silently ignored."""
        where = f"{self.prefix}." if self.prefix else ""
        return [
            Wording(
                f"unknown field '{where}{echo(str(key))}'", f"未知的字段 {where}{echo(str(key))}"
            )
            for key in self.data
            if key not in self.asked
        ]

    def _bad(self, key: str, en: str, zh: str) -> None:
        value = echo(repr(self.data.get(key)))
        name = f"{self.prefix}.{key}" if self.prefix else key
        self.problems.append(
            Wording(f"'{name}' must be {en}, not {value}", f"{name} 必须是{zh}，而不是 {value}")
        )

    def text(self, key: str, default: str | None = None) -> str | None:
        value = self.get(key, default)
        if value is None or isinstance(value, str):
            return value
        self._bad(key, "text", "文本")
        return default

    def texts(self, key: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
        value = self.get(key, default)
        if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
            return tuple(value)
        self._bad(key, "a list of texts", "文本列表")
        return default

    def whole(self, key: str, default: int) -> int:
        value = self.get(key, default)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        self._bad(key, "a whole number", "整数")
        return default

    def number(self, key: str, default: float) -> float:
        value = self.get(key, default)
        if isinstance(value, int | float) and not isinstance(value, bool) and value == value:
            return float(value)
        self._bad(key, "a number", "数字")
        return default

    def flag(self, key: str, default: bool) -> bool:
        value = self.get(key, default)
        if isinstance(value, bool):
            return value
        self._bad(key, "true or false", "true 或 false")
        return default

    def weights(self, key: str, default: Mapping[str, int]) -> dict[str, int]:
        value = self.get(key, default)
        if isinstance(value, Mapping) and all(
            isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool)
            for k, v in value.items()
        ):
            return dict(value)
        self._bad(key, "an object of word → whole-number weight", "“词 → 整数权重”的对象")
        return dict(default)
