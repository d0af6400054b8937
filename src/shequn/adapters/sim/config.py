"""Settings of one simulated bot account."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class SimPlatformConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["sim"] = "sim"
    community: str
    account: str = "shequn-bot"
    #: The simulated groups this account serves (every group when empty).
    groups: list[str] = Field(default_factory=list)
    #: Rate limits, as a real platform would set them (none by default).
    per_group_per_minute: int | None = Field(default=None, ge=1)
    per_account_per_second: float | None = Field(default=None, gt=0)
    #: How long the platform takes to answer each action.
    latency_ms: float = Field(default=0.0, ge=0)
    #: Where the platform keeps its journal of performed actions, so that it outlives
    #: the process (the crash tests); in memory when unset.
    journal: Path | None = None
