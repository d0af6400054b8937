"""The chat reads as Chinese chat: greetings, questions and quoted answers, emoji, media."""

from __future__ import annotations

import re
from collections import Counter

from shequn.core import EventType, Face, Image, Link, Mention, Quote, Sticker
from shequn.simulator import SimConfig, simulate
from shequn.simulator.topics import TOPICS

CJK = re.compile(r"[\u4e00-\u9fff]")
QUESTION = re.compile(r"[？?]|吗|怎么|如何|哪")


def messages(run):
    return [e for e in run.events if e.type is EventType.MESSAGE]


def test_text_is_chinese(mid_run) -> None:
    texts = [e.text for e in messages(mid_run)]
    with_cjk = sum(bool(CJK.search(t)) for t in texts)
    assert with_cjk > 0.7 * len(texts)
    assert not any("{" in t or "}" in t for t in texts)  # every slot was filled


def test_greetings_questions_and_answers(mid_run) -> None:
    texts = Counter(e.text for e in messages(mid_run))
    assert any("早" in t for t in texts) and any("晚安" in t for t in texts)
    questions = sum(n for t, n in texts.items() if QUESTION.search(t))
    assert questions > 0.05 * texts.total()


def test_answers_quote_earlier_questions_of_the_same_group(mid_run) -> None:
    by_id = {}
    answers = 0
    for e in messages(mid_run):
        for seg in e.message.of_kind(Quote):
            quoted = by_id[seg.message_id]  # earlier: already seen
            assert quoted.group == e.group and quoted.occurred_at <= e.occurred_at
            if QUESTION.search(quoted.text):
                answers += 1
                mentions = e.message.of_kind(Mention)
                assert not mentions or mentions[0].user == quoted.actor
        by_id[e.source_id] = e
    assert answers > 0.02 * len(by_id)


def test_mentions_name_real_members(mid_run) -> None:
    people = {p.external_id: p.nickname for p in mid_run.community.people}
    seen = 0
    for e in messages(mid_run):
        for m in e.message.of_kind(Mention):
            seen += 1
            assert m.everyone or people[m.user] == m.name
    assert seen > 0


def test_messages_carry_emoji_faces_stickers_images_and_links(mid_run) -> None:
    kinds = Counter(type(seg) for e in messages(mid_run) for seg in e.message)
    for kind in (Face, Sticker, Image, Link, Quote, Mention):
        assert kinds[kind] > 0, kind
    emoji = sum(any(ch in e.text for ch in "😂👍🙏🎉") for e in messages(mid_run))
    assert emoji > 0.02 * len(messages(mid_run))
    for e in messages(mid_run):
        for link in e.message.of_kind(Link):
            assert link.url.startswith("https://example.com/")


def test_groups_have_topics_and_chinese_names() -> None:
    community = simulate(SimConfig())
    assert len({g.topic for g in community.groups}) >= 5
    assert len(TOPICS) >= 5
    for g in community.groups:
        assert CJK.search(g.name) and re.search(r"\d+群$", g.name)
    assert len({g.name for g in community.groups}) == len(community.groups)


def test_each_group_talks_about_its_own_topic(mid_run) -> None:
    topics = {t.key: t for t in TOPICS}
    for g in mid_run.community.groups:
        topic = topics[g.topic]
        words = {w for values in topic.slots.values() for w in values}
        said = " ".join(e.text for e in messages(mid_run) if e.group == g.external_id)
        assert sum(said.count(w) for w in words) > 20, g.external_id


def test_every_template_fills() -> None:
    from random import Random

    from shequn.simulator import vocabulary as v
    from shequn.simulator.chat import Slots

    rng = Random(1)
    generic = (v.MORNING, v.NIGHT, v.NOON, v.SMALL_TALK, v.AT_SOMEONE, v.SHORT_REPLIES, v.THANKS)
    for topic in TOPICS:
        slots = Slots(rng, topic.slots)
        templates = [*topic.chat, *(q for q, _ in topic.qa), *(a for _, a in topic.qa for a in a)]
        for template in templates + [t for group in generic for t in group]:
            text = template.format_map(slots)
            assert "{" not in text and "}" not in text, template
        slots.extra = {"nick": "小明", "topic": topic.name}
        for template in v.INTRO:
            assert "{" not in template.format_map(slots)
        assert all(QUESTION.search(q) for q, _ in topic.qa)
