"""Settings of one OneBot v11 bridge (NapCat, Lagrange, …) serving one bot account."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

#: What a bridge may send as ``X-Self-ID``: a QQ number, or the account id a
#: WeChat bridge uses (``wxid_…``). Nothing that could smuggle text into logs.
SELF_ID = re.compile(r"^[A-Za-z0-9_@.\-]{1,64}$")


class OneBotConfig(BaseModel):
    """One bridge connecting to shequn over reverse WebSocket.

    The bridge dials ``ws://{host}:{port}{path}`` with ``access_token``; the token
    is required because whoever holds the socket speaks as the bot. ``self_id``,
    when set, pins the bot account: a bridge announcing another ``X-Self-ID`` is
    refused (without it the first bridge to connect names the account, and later
    ones must match). With ``http_url`` actions go to the bridge's HTTP API, with
    the same token, instead of over the socket. ``action_timeout_s`` is how long an
    action waits for the bridge's answer (and for a bridge to be connected at all).
    """

    # A refused token must not be echoed into logs: it is the account itself.
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    kind: Literal["onebot"] = "onebot"
    community: str
    host: str = "127.0.0.1"
    port: int = Field(default=6700, ge=0, le=65535)
    path: str = "/onebot/v11/ws"
    access_token: SecretStr
    self_id: str | None = None
    http_url: str | None = None
    action_timeout_s: float = Field(default=10.0, gt=0)

    @field_validator("access_token")
    @classmethod
    def _token(cls, value: SecretStr) -> SecretStr:
        token = value.get_secret_value().strip()
        if not token:
            raise ValueError("access_token must not be empty")
        if any(ch.isspace() or not ch.isprintable() for ch in token):
            raise ValueError("access_token must not contain spaces or control characters")
        return SecretStr(token)

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        value = value.strip()
        if not value.startswith("/") or "?" in value or "#" in value:
            raise ValueError("path must start with / and carry no query or fragment")
        return value.rstrip("/") or "/"

    @field_validator("self_id")
    @classmethod
    def _self_id(cls, value: str | None) -> str | None:
        if value is not None and not SELF_ID.match(value):
            raise ValueError("self_id must be the bot's account id, such as its QQ number")
        return value

    @field_validator("http_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError("http_url must be an http:// or https:// URL")
        return value
