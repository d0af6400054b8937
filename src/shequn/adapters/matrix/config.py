"""Settings of one Matrix bot account."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator


class MatrixConfig(BaseModel):
    """One bot account on one homeserver.

    Either ``access_token`` (preferred: no password on disk, and the device stays
    the same across restarts) or ``password`` must be given. ``rooms`` limits the
    account to some rooms (ids ``!…`` or aliases ``#…``); empty means every room
    it is in or is invited to.
    """

    model_config = ConfigDict(extra="forbid")

    kind: Literal["matrix"] = "matrix"
    community: str
    homeserver: str
    user_id: str
    access_token: SecretStr | None = None
    password: SecretStr | None = None
    #: The device the account acts as. Transaction ids are scoped to a device, so a
    #: fixed device is what makes a retried send land once.
    device_id: str = "SHEQUN"
    auto_join: bool = True
    rooms: list[str] = Field(default_factory=list)

    @field_validator("homeserver")
    @classmethod
    def _http_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError("homeserver must be an http:// or https:// URL")
        return value

    @field_validator("user_id")
    @classmethod
    def _mxid(cls, value: str) -> str:
        local, _, server = value.removeprefix("@").partition(":")
        if not value.startswith("@") or not local or not server:
            raise ValueError("user_id must be a full Matrix id such as @bot:example.org")
        return value

    @field_validator("rooms")
    @classmethod
    def _room_refs(cls, value: list[str]) -> list[str]:
        for ref in value:
            # Room ids of room version 12 on have no server part; aliases always do.
            is_id = ref.startswith("!") and len(ref) > 1
            is_alias = ref.startswith("#") and ":" in ref
            if not (is_id or is_alias):
                raise ValueError(f"{ref!r} is neither a room id (!…) nor an alias (#…:server)")
        return value

    @model_validator(mode="after")
    def _credentials(self) -> MatrixConfig:
        if self.access_token is None and self.password is None:
            raise ValueError("either access_token or password is required")
        return self
