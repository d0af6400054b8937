"""WeChat CSV exports (MemoTrace / WeChatMsg layout): rows to events, encodings, bad files."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from shequn.adapters.importers.common import ImportStats, detect_encoding
from shequn.adapters.importers.wechat.csv_export import BadWeChatExport, row_events, wechat_events
from shequn.cli.main import app
from shequn.core import EventType, Image, Link, Sticker, Text

SAMPLE = Path(__file__).parent / "samples" / "wechat_group.csv"
runner = CliRunner()


def read(path: Path) -> list:
    return list(wechat_events(path, ImportStats()))


def test_the_sample_reads_as_joins_messages_and_system_notes() -> None:
    events = read(SAMPLE)
    assert [(e.type, e.actor) for e in events] == [
        (EventType.JOIN, "name:小红"),
        (EventType.JOIN, "name:小刚"),
        (EventType.JOIN, "name:小李"),
        (EventType.MESSAGE, "wxid_xiaohong"),
        (EventType.MESSAGE, "self"),
        (EventType.MESSAGE, "wxid_xiaogang"),
        (EventType.MESSAGE, "wxid_xiaohong"),
        (EventType.CUSTOM, None),
        (EventType.MESSAGE, "wxid_xiaoli"),
    ]
    assert events[0].payload == {"via": "invite"} and events[2].payload == {"via": "qrcode"}
    assert {e.group for e in events} == {"12345678@chatroom"}
    assert events[3].group_name == "红酒品鉴1群"
    assert events[4].message.segments == (
        Text("醒半小时，详见 "),
        Link(url="https://example.com/decant"),
        Text(" 哦"),
    )
    assert events[5].message.segments == (Image(),)
    assert events[6].message.segments == (Sticker(),)
    assert events[8].text == "多行消息\n第二行, 带逗号"
    assert events[3].occurred_at.timestamp() == 1767225720


def test_a_gbk_file_reads_the_same(tmp_path: Path) -> None:
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes(SAMPLE.read_text(encoding="utf-8-sig").encode("gb18030"))
    assert detect_encoding(gbk.read_bytes()[:4096]) == "gb18030"
    assert [(e.type, e.text) for e in read(gbk)] == [(e.type, e.text) for e in read(SAMPLE)]


def test_importing_twice_adds_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHEQUN_DATABASE_URL", f"sqlite:///{tmp_path / 'w.db'}")
    first = runner.invoke(app, ["import", "wechat", str(SAMPLE)])
    assert first.exit_code == 0, first.output
    assert "8 messages read, 9 events stored" in first.stdout
    second = runner.invoke(app, ["import", "wechat", str(SAMPLE)])
    assert "0 events stored, 9 already present" in second.stdout


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"a,b,c\n1,2,3\n", "missing columns"),
        (
            b"localId,TalkerId,Type,CreateTime,StrContent,Sender\n1,g@chatroom,x,1,hi,w\n",
            ":2: Type 'x'",
        ),
        (
            b"localId,TalkerId,Type,CreateTime,StrContent,Sender\n1,,1,1,hi,w\n",
            ":2: TalkerId is empty",
        ),
    ],
)
def test_bad_files_name_the_file_and_line(tmp_path: Path, content: bytes, says: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(BadWeChatExport, match=says):
        read(path)


def test_a_utf8_file_broken_after_its_start_names_the_line(tmp_path: Path) -> None:
    filler = "".join(
        f"{n},g@chatroom,1,0,0,1767226100,2,第{n}条消息,,,,w\n" for n in range(100, 5100)
    )
    path = tmp_path / "mixed.csv"
    path.write_bytes(
        SAMPLE.read_bytes()
        + filler.encode()
        + b"9,g@chatroom,1,0,0,1767226100,2,"
        + "坏".encode("gbk") * 10
        + b",,,,w\n"
    )
    with pytest.raises(BadWeChatExport, match=r"mixed.csv:\d+: not utf-8-sig text"):
        read(path)


@given(st.text(), st.integers(0, 2**31))
def test_any_text_row_is_one_message_keeping_its_text(text: str, when: int) -> None:
    row = {
        "localId": "1",
        "TalkerId": "g@chatroom",
        "Type": "1",
        "CreateTime": str(when),
        "StrContent": text,
        "Sender": "w",
    }
    (event,) = row_events(row, "x:2")
    assert event.type is EventType.MESSAGE
    assert event.text == text
