"""QQ message-manager .txt exports: headers, badges, multi-line content, encodings, bad files."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from shequn.adapters.importers.common import ImportStats
from shequn.adapters.importers.qq.txt_export import BadQQExport, qq_events
from shequn.cli.main import app
from shequn.core import EventType

SAMPLE = Path(__file__).parent / "samples" / "qq_group.txt"
SHANGHAI = ZoneInfo("Asia/Shanghai")
runner = CliRunner()


def read(path: Path) -> list:
    return list(qq_events(path, ImportStats()))


def test_the_sample_reads_messages_badges_and_times() -> None:
    events = read(SAMPLE)
    messages = [e for e in events if e.type is EventType.MESSAGE]
    assert [(e.actor, e.actor_name) for e in messages] == [
        ("10001", "老张"),
        ("10002", "小红"),
        ("10002", "小红"),
        ("10003", "书虫小李"),
        ("email:aming@example.com", "阿明"),
        ("10002", "小红"),
    ]
    assert messages[1].text == "收到！\n我已经读完第二章了"
    assert messages[0].occurred_at == datetime(2026, 1, 1, 8, 0, tzinfo=SHANGHAI)
    assert {e.group for e in events} == {"夜读会交流群"}
    assert len({e.source_id for e in events}) == len(events)  # same second, same sender: ranked
    updates = [(e.actor, dict(e.payload)) for e in events if e.type is EventType.MEMBER_UPDATE]
    assert updates == [
        ("10001", {"role": "owner"}),
        ("10003", {"role": "admin"}),
        ("10002", {"title": "读书达人"}),
    ]


def test_a_gb18030_file_with_windows_line_ends_reads_the_same(tmp_path: Path) -> None:
    path = tmp_path / "gbk.txt"
    path.write_bytes(SAMPLE.read_text(encoding="utf-8").replace("\n", "\r\n").encode("gb18030"))
    assert [(e.type, e.text, e.source_id) for e in read(path)] == [
        (e.type, e.text, e.source_id) for e in read(SAMPLE)
    ]


def test_importing_twice_adds_nothing_and_roles_land(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHEQUN_DATABASE_URL", f"sqlite:///{tmp_path / 'q.db'}")
    first = runner.invoke(app, ["import", "qq", str(SAMPLE)])
    assert first.exit_code == 0, first.output
    assert "6 messages read, 9 events stored" in first.stdout
    assert (
        "0 events stored, 9 already present"
        in runner.invoke(app, ["import", "qq", str(SAMPLE)]).stdout
    )


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("随便一段文字\n", "no 消息记录 header"),
        ("消息记录\n2026-01-01 8:00:00 小红(10002)\nhi\n", ":2: a message before any 消息对象"),
        ("消息记录\n消息对象:群\n这行不属于任何消息\n", ":3: text outside any message"),
        ("消息记录\n消息对象:群\n2026-13-45 8:00:00 小红(10002)\nhi\n", ":3: '2026-13-45 8:00:00'"),
    ],
)
def test_bad_files_name_the_file_and_line(tmp_path: Path, content: str, says: str) -> None:
    path = tmp_path / "bad.txt"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(BadQQExport, match=says):
        read(path)


_LINE = st.text(alphabet="你好世界读书会abc xyz，。！？😀", max_size=30)


@given(st.lists(_LINE, max_size=5))
def test_content_lines_survive_whole(tmp_path_factory, lines: list[str]) -> None:
    path = tmp_path_factory.mktemp("p") / "p.txt"
    text = "消息记录\n消息对象:群\n2026-01-01 8:00:00 小红(10002)\n" + "\n".join(lines) + "\n"
    path.write_text(text, encoding="utf-8")
    (event,) = [e for e in read(path) if e.type is EventType.MESSAGE]
    while lines and not lines[-1].strip():
        lines.pop()
    assert event.text == "\n".join(lines)
