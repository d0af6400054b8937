"""From configuration to running adapters: which kinds exist and how each is built.

Each ``[[adapters]]`` table names its ``kind``; the kind's own config model
checks the rest, so a typo in a platform setting is refused at start with the
table's name and the field, not discovered at the first action.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from shequn.adapters.base import Adapter
from shequn.adapters.matrix import MatrixAdapter, MatrixConfig
from shequn.adapters.onebot import OneBotAdapter, OneBotConfig
from shequn.adapters.sim import SimAdapter, SimPlatformConfig, SimWorld
from shequn.adapters.telegram import TelegramAdapter, TelegramConfig
from shequn.adapters.wecom import WeComAdapter, WeComConfig
from shequn.features.community.setup import CommunityRef
from shequn.kit.errors import ConfigError
from shequn.runtime.supervisor import Entry


@dataclass(frozen=True, slots=True)
class Kind:
    config: type[BaseModel]
    build: Callable[[Any, SimWorld | None], Adapter]


def _sim(config: SimPlatformConfig, world: SimWorld | None) -> Adapter:
    if world is None:
        raise ConfigError("a sim adapter needs the simulated platform of its process")
    return SimAdapter(config, world)


KINDS: dict[str, Kind] = {
    "sim": Kind(SimPlatformConfig, _sim),
    "matrix": Kind(MatrixConfig, lambda config, _: MatrixAdapter(config)),
    "onebot": Kind(OneBotConfig, lambda config, _: OneBotAdapter(config)),
    "telegram": Kind(TelegramConfig, lambda config, _: TelegramAdapter(config)),
    "wecom": Kind(WeComConfig, lambda config, _: WeComAdapter(config)),
}


def parse(table: Mapping[str, Any], index: int) -> tuple[str, BaseModel]:
    """One ``[[adapters]]`` table as its name and its kind's checked config."""
    values = dict(table)
    kind = values.get("kind")
    name = str(values.pop("name", "") or f"{kind}-{index + 1}")
    if kind not in KINDS:
        known = ", ".join(sorted(KINDS))
        raise ConfigError(f"adapter {name!r}: unknown kind {kind!r} (known: {known})")
    try:
        return name, KINDS[str(kind)].config.model_validate(values)
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
        adapter = KINDS[str(config.kind)].build(config, world)
        entries.append(Entry(name, adapter, community(str(config.community))))
    return entries
