"""The Matrix account settings: what is required, what is refused."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shequn.adapters.matrix import MatrixConfig

BASE = {
    "community": "读书会",
    "homeserver": "https://matrix.example.org/",
    "user_id": "@bot:example.org",
}


def test_a_token_account_with_defaults() -> None:
    config = MatrixConfig(**BASE, access_token="syt_secret")
    assert config.kind == "matrix"
    assert config.homeserver == "https://matrix.example.org"
    assert (config.device_id, config.auto_join, config.rooms) == ("SHEQUN", True, [])
    assert "syt_secret" not in repr(config)
    assert config.access_token is not None
    assert config.access_token.get_secret_value() == "syt_secret"


def test_room_ids_of_every_version_and_aliases_are_accepted() -> None:
    rooms = ["!OGEhHVWSdvArJzumhm:matrix.org", "!xBKaidF7lQY1X1dgBqz9YvKWr9meryUzarg6nj_E5Wk"]
    config = MatrixConfig(**BASE, password="pw", rooms=[*rooms, "#books:example.org"])
    assert config.rooms[-1] == "#books:example.org"


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({}, "either access_token or password"),
        ({"access_token": "t", "homeserver": "matrix.example.org"}, "http:// or https://"),
        ({"access_token": "t", "user_id": "bot"}, "full Matrix id"),
        ({"access_token": "t", "user_id": "@bot"}, "full Matrix id"),
        ({"access_token": "t", "rooms": ["books"]}, "neither a room id"),
        ({"access_token": "t", "rooms": ["#books"]}, "neither a room id"),
        ({"access_token": "t", "kind": "telegram"}, "'matrix'"),
        ({"access_token": "t", "token": "t"}, "Extra inputs are not permitted"),
    ],
)
def test_settings_that_cannot_work_are_refused(change: dict, complaint: str) -> None:
    with pytest.raises(ValidationError, match=complaint):
        MatrixConfig(**(BASE | change))
