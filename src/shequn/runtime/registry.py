"""From configuration to running adapters: which kinds exist and how each is built.

Each ``[[adapters]]`` table names its ``kind``; the kind's own config model
checks the rest, so a typo in a platform setting is refused at start with the
table's name and the field, not discovered at the first action.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from shequn.adapters.base import Adapter
from shequn.adapters.sim import SimWorld
from shequn.features.community.setup import CommunityRef
from shequn.kit.errors import ConfigError
from shequn.runtime.supervisor import Entry


@dataclass(frozen=True, slots=True)
class Kind:
    """Where a kind's config model and adapter class live. They are imported only when a
    table of that kind is configured: each platform library (aiogram, matrix-nio,
    wechatpy…) costs its import time only to the processes that run it."""

    module: str
    config: str
    adapter: str

    def load(self) -> tuple[type[BaseModel], Callable[..., Adapter]]:
        package = importlib.import_module(self.module)
        return getattr(package, self.config), getattr(package, self.adapter)


KINDS: dict[str, Kind] = {
    "sim": Kind("shequn.adapters.sim", "SimPlatformConfig", "SimAdapter"),
    "matrix": Kind("shequn.adapters.matrix", "MatrixConfig", "MatrixAdapter"),
    "onebot": Kind("shequn.adapters.onebot", "OneBotConfig", "OneBotAdapter"),
    "telegram": Kind("shequn.adapters.telegram", "TelegramConfig", "TelegramAdapter"),
    "wecom": Kind("shequn.adapters.wecom", "WeComConfig", "WeComAdapter"),
}


def _build(kind: str, config: BaseModel, world: SimWorld | None) -> Adapter:
    _, adapter = KINDS[kind].load()
    if kind != "sim":
        return adapter(config)
    if world is None:
        raise ConfigError("a sim adapter needs the simulated platform of its process")
    return adapter(config, world)


def parse(table: Mapping[str, Any], index: int) -> tuple[str, BaseModel]:
    """One ``[[adapters]]`` table as its name and its kind's checked config."""
    values = dict(table)
    kind = values.get("kind")
    name = str(values.pop("name", "") or f"{kind}-{index + 1}")
    if kind not in KINDS:
        known = ", ".join(sorted(KINDS))
        raise ConfigError(f"adapter {name!r}: unknown kind {kind!r} (known: {known})")
    try:
        model, _ = KINDS[str(kind)].load()
        return name, model.model_validate(values)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in e['loc']) or 'table'}: {e['msg']}"
            for e in exc.errors()
        )
        raise ConfigError(f"adapter {name!r}: {problems}") from None


def build_entries(
    tables: Sequence[Mapping[str, Any]],
    community: Callable[[str], CommunityRef],
    *,
    world: SimWorld | None,
) -> list[Entry]:
    """Adapters for every configured table; names must be unique."""
    entries: list[Entry] = []
    for index, table in enumerate(tables):
        name, config = parse(table, index)
        if any(e.name == name for e in entries):
            raise ConfigError(f"two adapters are named {name!r}")
        adapter = _build(str(config.kind), config, world)
        entries.append(Entry(name, adapter, community(str(config.community))))
    return entries
