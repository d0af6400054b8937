"""Segments ↔ WeCom mass-message content, and what WeCom cannot show."""

from __future__ import annotations

from shequn.adapters.wecom.message import MAX_ATTACHMENTS, from_platform, to_platform
from shequn.core import File, Image, Link, Media, Mention, Message, Poll, Quote, Sticker
from shequn.core.message import Face


def test_text_images_and_titled_links_become_content_and_attachments() -> None:
    message = Message.of(
        "本周六晚8点共读《额尔古纳河右岸》",
        Face("微笑", "微笑"),
        "，报名请看海报：",
        Image(file_id="3a8asd892asd8asd"),
        Link("https://mp.weixin.qq.com/s/AbCdEf", title="春季共读书单"),
        " 原文 ",
        Link("https://example.cn/reading"),
    )
    rendered = to_platform(message)
    assert rendered.payload == {
        "text": {
            "content": "本周六晚8点共读《额尔古纳河右岸》[微笑]，报名请看海报： 原文 "
            "https://example.cn/reading"
        },
        "attachments": [
            {"msgtype": "image", "image": {"media_id": "3a8asd892asd8asd"}},
            {
                "msgtype": "link",
                "link": {"title": "春季共读书单", "url": "https://mp.weixin.qq.com/s/AbCdEf"},
            },
        ],
    }
    assert rendered.lost == ()


def test_what_wecom_cannot_show_degrades_to_text_and_is_named() -> None:
    message = Message.of(
        Quote("msg-1"),
        Mention(user="wmOgQhDgAAuXFJGwbve4g4iXknfOAAAA", name="王语嫣"),
        " 投票：",
        Poll("下期读哪本？", ("活着", "平凡的世界")),
        Sticker(emoji="👍"),
        File(name="书单.pdf"),
        Media(media="voice"),
    )
    rendered = to_platform(message)
    assert rendered.payload == {
        "text": {"content": "@王语嫣 投票：[poll 下期读哪本？]👍[file 书单.pdf][voice]"}
    }
    assert len(rendered.lost) == 6
    assert any("reply" in line for line in rendered.lost)
    assert any("mentions" in line for line in rendered.lost)
    assert any("polls" in line for line in rendered.lost)


def test_files_and_videos_with_media_ids_are_attached() -> None:
    rendered = to_platform(
        Message.of(
            File(name="书单.pdf", file_id="1Yv-zXfHjSjU-7LH-GwtYqDGS-zz6w22KmWAT5COgP7o"),
            Media(media="video", file_id="MEDIA_ID_VIDEO"),
            Image(url="http://p.qpic.cn/pic_wework/3474110808/7a6344sdadfwehe42060/0"),
        )
    )
    assert [a["msgtype"] for a in rendered.payload["attachments"]] == ["file", "video", "image"]
    assert rendered.payload["attachments"][2]["image"] == {
        "pic_url": "http://p.qpic.cn/pic_wework/3474110808/7a6344sdadfwehe42060/0"
    }
    assert "text" not in rendered.payload


def test_attachments_beyond_nine_go_as_text() -> None:
    images = [Image(file_id=f"media-{i}") for i in range(MAX_ATTACHMENTS + 1)]
    rendered = to_platform(Message.of(*images))
    assert len(rendered.payload["attachments"]) == MAX_ATTACHMENTS
    assert rendered.payload["text"] == {"content": "[image]"}
    assert rendered.lost == (
        "WeCom takes at most 9 attachments; the image after them was sent as text",
    )


def test_an_empty_message_is_empty() -> None:
    assert to_platform(Message.of(Quote("x"))).empty
    assert not to_platform(Message.of("你好")).empty


def test_wecom_content_reads_back_into_the_same_content() -> None:
    content = {
        "text": {"content": "欢迎%NICKNAME%加入读书会！"},
        "attachments": [
            {"msgtype": "image", "image": {"media_id": "MEDIA_ID"}},
            {"msgtype": "link", "link": {"title": "入群须知", "url": "https://example.cn/rules"}},
            {"msgtype": "video", "video": {"media_id": "VIDEO_ID"}},
            {"msgtype": "file", "file": {"media_id": "FILE_ID"}},
        ],
    }
    message = from_platform(content)
    assert message.segments[0].plain() == "欢迎%NICKNAME%加入读书会！"
    assert to_platform(message).payload == content


def test_unknown_attachment_kinds_are_kept_as_media() -> None:
    message = from_platform(
        {
            "attachments": [
                {
                    "msgtype": "miniprogram",
                    "miniprogram": {
                        "title": "报名",
                        "pic_media_id": "PIC",
                        "appid": "wx8bd80126147dfAAA",
                        "page": "/path/index",
                    },
                }
            ]
        }
    )
    assert message.segments == (Media(media="miniprogram", file_id="PIC"),)
