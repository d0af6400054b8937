"""Settings of one WeCom (企业微信) corporation whose customer groups shequn serves."""

from __future__ import annotations

import base64
import binascii
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

DEFAULT_API_BASE = "https://qyapi.weixin.qq.com/cgi-bin/"


class WeComConfig(BaseModel):
    """One corporation: its API credentials and the secrets of its callback URL.

    ``access_token`` is used as given when set, so that a central token service can hand
    one token to every process and keep the rate-limited ``gettoken`` calls in one
    place; without a ``secret`` it is never refreshed. Otherwise a token is fetched
    from ``api_base`` with ``corp_id`` and ``secret``. ``callback_token`` and
    ``encoding_aes_key`` are the Token and EncodingAESKey set in the admin console
    next to the callback URL.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["wecom"] = "wecom"
    community: str = Field(min_length=1)
    corp_id: str = Field(min_length=1, max_length=64)
    secret: SecretStr | None = None
    access_token: SecretStr | None = None
    #: The self-built app's AgentId; only sent where WeCom asks for one.
    agent_id: int | None = Field(default=None, ge=0)
    callback_token: SecretStr
    encoding_aes_key: SecretStr
    api_base: str = DEFAULT_API_BASE
    #: The member who sends mass messages when the action does not name one; the
    #: group's owner when unset (WeCom only lets a group's owner send to it).
    sender: str | None = Field(default=None, min_length=1)
    #: Seconds to wait for one WeCom API answer.
    timeout: float = Field(default=10.0, gt=0, le=120)

    @field_validator("api_base")
    @classmethod
    def _api_base(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("api_base must be an http(s) URL")
        return value if value.endswith("/") else value + "/"

    @field_validator("callback_token")
    @classmethod
    def _callback_token(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value():
            raise ValueError("callback_token must not be empty")
        return value

    @field_validator("encoding_aes_key")
    @classmethod
    def _aes_key(cls, value: SecretStr) -> SecretStr:
        # WeCom's EncodingAESKey is 43 base64 characters: with one '=' it is a
        # 32-byte AES key. Anything else would only fail on the first callback.
        raw = value.get_secret_value()
        if len(raw) != 43:
            raise ValueError(f"encoding_aes_key must be 43 characters, not {len(raw)}")
        try:
            key = base64.b64decode(raw + "=", validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("encoding_aes_key is not base64") from None
        if len(key) != 32:
            raise ValueError("encoding_aes_key does not decode to a 32-byte key")
        return value

    @model_validator(mode="after")
    def _credentials(self) -> WeComConfig:
        if self.access_token is None and self.secret is None:
            raise ValueError("give either access_token or secret (with corp_id)")
        return self
