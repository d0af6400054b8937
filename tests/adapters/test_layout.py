"""Every adapter package has the same files, and its tests a folder of recorded payloads."""

from __future__ import annotations

from pathlib import Path

import pytest

import shequn.adapters

SOURCE = Path(shequn.adapters.__file__).parent
TESTS = Path(__file__).parent
FILES = ("adapter.py", "events.py", "actions.py", "message.py", "config.py")
ADAPTERS = sorted(p.name for p in SOURCE.iterdir() if p.is_dir() and (p / "adapter.py").exists())


def test_the_five_platforms_are_there() -> None:
    assert ADAPTERS == ["matrix", "onebot", "sim", "telegram", "wecom"]


@pytest.mark.parametrize("name", ADAPTERS)
def test_an_adapter_has_the_shared_files_and_recorded_payloads(name: str) -> None:
    missing = [f for f in FILES if not (SOURCE / name / f).is_file()]
    assert not missing, f"adapters/{name} lacks {missing}"
    payloads = TESTS / name / "payloads"
    assert payloads.is_dir() and any(payloads.iterdir()), f"no recorded payloads for {name}"
