"""Settings of one Telegram bot account."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

#: What @BotFather hands out: the bot's numeric id, a colon, then the secret part.
_TOKEN = re.compile(r"^\d+:[A-Za-z0-9_-]+$")


class TelegramConfig(BaseModel):
    """One bot account. ``api_base`` points at a local Bot API server
    (``telegram-bot-api --local``) when set; the public one is used otherwise.
    ``poll_timeout_s`` is how long one long-polling ``getUpdates`` call waits for
    news: longer means fewer requests, and new updates still arrive at once."""

    # A refused token must not be echoed into logs: it is the account itself.
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    kind: Literal["telegram"] = "telegram"
    community: str
    token: SecretStr
    api_base: str | None = None
    poll_timeout_s: int = Field(default=30, ge=0)

    @field_validator("token")
    @classmethod
    def _token_shape(cls, value: SecretStr) -> SecretStr:
        if not _TOKEN.match(value.get_secret_value().strip()):
            raise ValueError("token must look like 123456789:AA… as @BotFather gives it")
        return SecretStr(value.get_secret_value().strip())

    @field_validator("api_base")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError("api_base must be an http:// or https:// URL")
        return value
