"""WeCom's errors, the daily mass-message rule and request bodies, without a network."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from adapters.wecom.support import AES_KEY, make_config
from shequn.adapters.base import PermanentFailure, TransientFailure
from shequn.adapters.wecom.actions import (
    failure_of,
    join_way_body,
    mass_send_body,
    next_mass_send,
)
from shequn.adapters.wecom.api import WeComApiError
from shequn.adapters.wecom.message import Rendered

TODAY = date(2025, 3, 1)


@pytest.mark.parametrize(
    ("last", "expected"),
    [
        (None, TODAY),
        (date(2025, 2, 28), TODAY),
        (TODAY, date(2025, 3, 2)),
        (date(2025, 3, 5), date(2025, 3, 6)),
    ],
)
def test_next_mass_send(last: date | None, expected: date) -> None:
    assert next_mass_send(last, TODAY) == expected


@pytest.mark.parametrize(
    ("errcode", "retry_after"), [(-1, None), (45009, 60.0), (45033, None), (6000, None)]
)
def test_busy_and_rate_limited_are_transient(errcode: int, retry_after: float | None) -> None:
    failure = failure_of(WeComApiError("externalcontact/add_msg_template", errcode, "busy"))
    assert isinstance(failure, TransientFailure)
    assert failure.retry_after == retry_after


@pytest.mark.parametrize("errcode", [40014, 42001, 60011, 41001, 41009, 40058, 48002, 40050, 41048])
def test_refusals_are_permanent_with_wecom_s_message(errcode: int) -> None:
    failure = failure_of(WeComApiError("externalcontact/groupchat/get", errcode, "原因 hint: [1]"))
    assert type(failure) is PermanentFailure
    assert str(errcode) in failure.reason
    assert "原因 hint: [1]" in failure.reason


def test_http_and_network_failures() -> None:
    assert failure_of(WeComApiError("x", None, "boom", network=True)).transient
    assert failure_of(WeComApiError("x", None, "Bad Gateway", status=502)).transient
    limited = failure_of(WeComApiError("x", None, "Too Many", status=429, retry_after=3))
    assert isinstance(limited, TransientFailure) and limited.retry_after == 3
    assert not failure_of(WeComApiError("x", None, "Not Found", status=404)).transient


def test_mass_send_body_refuses_what_wecom_would() -> None:
    too_long = Rendered({"text": {"content": "读" * 1400}})
    with pytest.raises(PermanentFailure, match="4200 bytes"):
        mass_send_body("wr1", "ZhangWei", too_long)
    with pytest.raises(PermanentFailure, match="nothing"):
        mass_send_body("wr1", "ZhangWei", Rendered({}))
    with pytest.raises(PermanentFailure, match="miniprogram.appid"):
        mass_send_body("wr1", "ZhangWei", Rendered({}), {"title": "报名"})


def test_a_join_way_serves_one_to_five_groups() -> None:
    with pytest.raises(ValueError, match="1 to 5"):
        join_way_body(
            "群",
            [f"wr{i}" for i in range(6)],
            auto_create_room=True,
            room_base_id=None,
            state=None,
            remark=None,
        )
    with pytest.raises(ValueError, match="1 to 5"):
        join_way_body("群", [], auto_create_room=True, room_base_id=None, state=None, remark=None)


def test_config_checks_what_would_only_fail_later() -> None:
    base = "https://qyapi.weixin.qq.com/cgi-bin"
    config = make_config(base)
    assert config.api_base == base + "/"
    assert "accesstoken" not in repr(config)
    with pytest.raises(ValidationError, match="43 characters"):
        make_config(base, encoding_aes_key=AES_KEY[:-1])
    with pytest.raises(ValidationError, match="base64"):
        make_config(base, encoding_aes_key="!" * 43)
    with pytest.raises(ValidationError, match="access_token or secret"):
        make_config(base, access_token=None)
    with pytest.raises(ValidationError, match="http"):
        make_config("ftp://qyapi.weixin.qq.com/")
    with pytest.raises(ValidationError, match="Extra inputs"):
        make_config(base, bot_name="小助手")
    assert make_config(base, access_token=None, secret="s3cr3t").secret is not None
